"""GET /api/v1/stats/time-to-removal/ (notices/api/views.py → notices/selectors/stats.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notices.models import Url

pytestmark = pytest.mark.django_db


@pytest.fixture
def removed_cases(make_case, make_notice, api_only, other_api_only, now):
    """Two noticed, removed cases: polder (NL) with TTR [3600, 7200] s, balkan (BG) with TTR [100, 200] s."""
    sent = now - timedelta(hours=10)
    polder = make_case("http://files.polder.example/a", provider=api_only, when=sent)
    balkan = make_case("http://cdn.balkan.example/b", provider=other_api_only, when=sent)
    make_notice(polder, now=sent)
    make_notice(balkan, now=sent)
    for case, (low, high) in ((polder, (3600, 7200)), (balkan, (100, 200))):
        Url.objects.filter(pk=case.pk).update(
            status="removed",
            removal_confirmed_at=sent + timedelta(seconds=high + 600),
            removed_low=sent + timedelta(seconds=low),
            removed_high=sent + timedelta(seconds=high),
            ttr_low=low,
            ttr_high=high,
        )
    return polder, balkan


def _groups(client, query):
    response = client.get(f"/api/v1/stats/time-to-removal/?{query}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["unit"], set(body)) == (
        "seconds",
        {"group_by", "unit", "computed_at", "as_of", "age_seconds", "source", "groups"},
    )
    assert body["source"] == "live"  # no snapshot yet
    return body["groups"]


def _summary(groups):
    return [(g["key"], g["count"], g["median"]) for g in groups]


def test_stats_group_by_provider(staff_api, removed_cases):
    groups = _groups(staff_api, "group_by=provider")
    assert _summary(groups) == [
        ("polder", 1, {"low": 3600, "high": 7200}),
        ("balkan", 1, {"low": 100, "high": 200}),
    ]
    polder = groups[0]
    assert (polder["removed"], polder["still_up"]) == (1, 0)
    assert polder["max"] == {"low": 3600, "high": 7200}
    assert polder["share_under_24h"] == {"low": 1.0, "high": 1.0}
    assert polder["still_up_after_days"] == {"1": 0, "3": 0, "7": 0, "30": 0}


@pytest.mark.parametrize("query", ["", "?group_by="])
def test_stats_group_by_defaults_to_provider(staff_api, removed_cases, query):
    response = staff_api.get(f"/api/v1/stats/time-to-removal/{query}")
    assert response.status_code == 200
    assert response.json()["group_by"] == "provider"


def test_stats_group_by_asn(staff_api, removed_cases):
    # make_case traces both to AS64500; percentile_disc takes the lower middle value
    assert _summary(_groups(staff_api, "group_by=asn")) == [(64500, 2, {"low": 100, "high": 200})]


def test_stats_group_by_country(staff_api, removed_cases):
    assert _summary(_groups(staff_api, "group_by=country")) == [
        ("BG", 1, {"low": 100, "high": 200}),
        ("NL", 1, {"low": 3600, "high": 7200}),
    ]


def test_stats_group_by_month(staff_api, removed_cases):
    month = Url.objects.get(pk=removed_cases[0].pk).first_notice_sent_at.strftime("%Y-%m")
    assert _summary(_groups(staff_api, "group_by=month")) == [(month, 2, {"low": 100, "high": 200})]


def test_stats_still_up_case_is_unbounded(staff_api, make_case, make_notice, api_only, now):
    make_notice(make_case(provider=api_only, when=now - timedelta(days=2)), now=now - timedelta(days=2))
    (group,) = _groups(staff_api, "group_by=provider")
    assert (group["key"], group["count"], group["removed"], group["still_up"]) == ("polder", 1, 0, 1)
    assert group["median"]["high"] is None
    assert 2 * 86400 <= group["median"]["low"] <= 2 * 86400 + 300
    assert group["still_up_after_days"] == {"1": 1, "3": 0, "7": 0, "30": 0}


def test_stats_without_notices_is_empty(staff_api):
    assert _groups(staff_api, "group_by=country") == []


def test_stats_since_filters_by_first_notice(staff_api, removed_cases, now):
    since = (now + timedelta(minutes=1)).isoformat()
    assert _groups(staff_api, f"group_by=provider&since={since.replace('+', '%2B')}") == []


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("group_by=city", {"group_by": ['"city" is not a valid choice.']}),
        (
            "since=last-week",
            {
                "since": [
                    "Datetime has wrong format. Use one of these formats instead: "
                    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
                ]
            },
        ),
        ("notice_type=letter", {"notice_type": ['"letter" is not a valid choice.']}),
    ],
)
def test_stats_invalid_query_is_400(staff_api, query, errors):
    response = staff_api.get(f"/api/v1/stats/time-to-removal/?{query}")
    assert response.status_code == 400
    assert response.json() == errors


def test_stats_serves_the_recent_snapshot_unless_filtered_or_fresh(staff_api, settings):
    from django.utils import timezone

    from notices.selectors.stats import refresh_snapshots

    refresh_snapshots(now=timezone.now())
    body = staff_api.get("/api/v1/stats/time-to-removal/?group_by=country").json()
    assert body["source"] == "snapshot"
    fresh = staff_api.get("/api/v1/stats/time-to-removal/?group_by=country&fresh=true").json()
    assert fresh["source"] == "live"
    filtered = staff_api.get(
        "/api/v1/stats/time-to-removal/?group_by=country&notice_type=removal_order"
    ).json()
    assert filtered["source"] == "live"
    settings.STATS_SNAPSHOT_MAX_AGE = 0
    assert staff_api.get("/api/v1/stats/time-to-removal/?group_by=country").json()["source"] == "live"
