"""ttr_stats on a small hand-made set: exact medians and percentiles as {low, high}, still-up cases
counted."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from notices.models import Url
from notices.selectors.stats import ttr_stats
from notices.services.intake import ReportInput, submit_report

NOW = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)
DAY = 86400
_numbers = itertools.count()


@pytest.fixture
def polder(make_provider):
    return make_provider("polder", country="NL", prefix=None)


@pytest.fixture
def balkan(make_provider):
    return make_provider("balkan", country="BG", prefix=None)


def case(
    provider,
    sent: datetime,
    ttr: tuple[int, int] | None = None,
    *,
    status=None,
    asn=None,
    country=None,
    notice_type="hotline_notice",
) -> Url:
    """A URL first noticed at `sent`, removed with TTR bounds `ttr` (seconds), or still up when `ttr` is
    None."""
    result = submit_report(
        item=ReportInput(url=f"http://files.stats.example/{next(_numbers)}.html"), now=sent
    )
    fields = {
        "provider": provider,
        "provider_at_notice": provider,
        "asn_at_notice": asn or {"NL": 64500, "BG": 64501}[provider.country],
        "country_at_notice": country or provider.country,
        "notice_type_at_notice": notice_type,
        "first_notice_sent_at": sent,
        "status": status or ("removed" if ttr else "notified"),
    }
    if ttr:
        low, high = ttr
        fields.update(
            ttr_low=low,
            ttr_high=high,
            removal_confirmed_at=sent + timedelta(seconds=high + 600),
            removed_low=sent + timedelta(seconds=low),
            removed_high=sent + timedelta(seconds=high),
        )
    Url.objects.filter(pk=result.url_id).update(**fields)
    return Url.objects.get(pk=result.url_id)


@pytest.fixture
def cases(polder, balkan):
    """polder: three removed, one up for two days. balkan: one removed, two still up (10 and 33 days)."""
    case(polder, datetime(2025, 3, 1, tzinfo=UTC), (3600, 7200))
    case(polder, datetime(2025, 3, 2, tzinfo=UTC), (10_000, 20_000))
    case(polder, datetime(2025, 2, 10, tzinfo=UTC), (100_000, 200_000))
    case(polder, NOW - timedelta(days=2))  # lo = age = 172,800 s; hi = unbounded
    case(balkan, datetime(2025, 3, 5, tzinfo=UTC), (600, 1200), notice_type="removal_order")
    case(balkan, NOW - timedelta(days=10))
    case(balkan, NOW - timedelta(days=33))
    # Outside TTR statistics: gone before its notice, and a URL never noticed.
    case(polder, datetime(2025, 3, 3, tzinfo=UTC), (-500, -100), status="gone_before_notice")
    submit_report(item=ReportInput(url="http://new.stats.example/"), now=NOW)


def by_key(groups: list[dict]) -> dict:
    return {group["key"]: group for group in groups}


def test_ttr_stats_by_provider_gives_every_figure_as_low_high(cases):
    groups = by_key(ttr_stats(group_by="provider", now=NOW))

    assert sorted(groups) == ["balkan", "polder"]
    # polder: lo = [3600, 10000, 100000, 172800], hi = [7200, 20000, 200000, ∞] (percentile_disc).
    assert groups["polder"] == {
        "key": "polder",
        "count": 4,
        "removed": 3,
        "still_up": 1,
        "median": {"low": 10_000, "high": 20_000},
        "p75": {"low": 100_000, "high": 200_000},
        "p90": {"low": 172_800, "high": None},
        "max": {"low": 172_800, "high": None},
        "share_under_24h": {"low": 0.5, "high": 0.5},
        "share_under_72h": {"low": 0.75, "high": 1.0},
        "share_over_7d": {"low": 0.0, "high": 0.25},
        "still_up_after_days": {"1": 1, "3": 0, "7": 0, "30": 0},
        "reappeared": 0,
        "closed": 0,
        # Kaplan–Meier with the still-up case censored at 172,800 s: low from the low bounds, high from the
        # high.
        "survival": [
            {"t": t, "low": low, "high": high}
            for t, low, high in [
                (3600, 0.75, 1.0),
                (21600, 0.5, 0.5),
                (86400, 0.5, 0.5),
                (259200, 0.25, 0.0),
                (604800, 0.25, 0.0),
                (1209600, 0.25, 0.0),
                (2592000, 0.25, 0.0),
            ]
        ],
    }


def test_ttr_stats_more_than_half_still_up_leaves_the_median_unbounded(cases):
    balkan = by_key(ttr_stats(group_by="provider", now=NOW))["balkan"]

    # lo = [600, 864000, 2851200], hi = [1200, ∞, ∞]: the median's upper bound is a case still up.
    assert (balkan["count"], balkan["removed"], balkan["still_up"]) == (3, 1, 2)
    assert balkan["median"] == {"low": 10 * DAY, "high": None}
    assert balkan["max"] == {"low": 33 * DAY, "high": None}
    assert balkan["still_up_after_days"] == {"1": 2, "3": 2, "7": 2, "30": 1}


def test_ttr_stats_half_still_up_keeps_the_median_bounded(polder):
    case(polder, datetime(2025, 3, 1, tzinfo=UTC), (3600, 7200))
    case(polder, NOW - timedelta(days=1, hours=1))

    (group,) = ttr_stats(group_by="provider", now=NOW)

    assert (group["count"], group["still_up"], group["median"]) == (2, 1, {"low": 3600, "high": 7200})
    assert group["still_up_after_days"] == {"1": 1, "3": 0, "7": 0, "30": 0}


def test_ttr_stats_by_country_and_asn(cases):
    countries = by_key(ttr_stats(group_by="country", now=NOW))
    asns = by_key(ttr_stats(group_by="asn", now=NOW))

    assert {k: (g["count"], g["median"]) for k, g in countries.items()} == {
        "NL": (4, {"low": 10_000, "high": 20_000}),
        "BG": (3, {"low": 10 * DAY, "high": None}),
    }
    assert {k: (g["count"], g["median"]) for k, g in asns.items()} == {
        64500: (4, {"low": 10_000, "high": 20_000}),
        64501: (3, {"low": 10 * DAY, "high": None}),
    }


def test_ttr_stats_groups_by_what_was_recorded_at_notice_time(polder, balkan):
    moved = case(polder, datetime(2025, 3, 1, tzinfo=UTC), (3600, 7200), asn=64999, country="RO")
    Url.objects.filter(pk=moved.pk).update(provider=balkan)  # hosted elsewhere now; counted where it was

    assert [(g["key"], g["count"]) for g in ttr_stats(group_by="provider", now=NOW)] == [("polder", 1)]
    assert [g["key"] for g in ttr_stats(group_by="country", now=NOW)] == ["RO"]
    assert [g["key"] for g in ttr_stats(group_by="asn", now=NOW)] == [64999]


def test_ttr_stats_by_month_of_first_notice(cases):
    months = by_key(ttr_stats(group_by="month", now=NOW))

    assert {k: (g["count"], g["removed"], g["still_up"]) for k, g in months.items()} == {
        "2025-02": (2, 1, 1),
        "2025-03": (5, 3, 2),
    }
    # February: lo = [100000, 2851200], hi = [200000, ∞].
    assert months["2025-02"]["median"] == {"low": 100_000, "high": 200_000}


def test_ttr_stats_excludes_gone_before_notice_and_unnoticed(polder):
    case(polder, datetime(2025, 3, 3, tzinfo=UTC), (-500, -100), status="gone_before_notice")
    submit_report(item=ReportInput(url="http://new.stats.example/"), now=NOW)

    assert ttr_stats(group_by="provider", now=NOW) == []


def test_ttr_stats_since_and_until_filter_by_first_notice(cases):
    since = by_key(ttr_stats(group_by="provider", now=NOW, since=datetime(2025, 3, 1, tzinfo=UTC)))
    until = by_key(ttr_stats(group_by="provider", now=NOW, until=datetime(2025, 3, 1, tzinfo=UTC)))

    assert {k: (g["count"], g["removed"]) for k, g in since.items()} == {"polder": (3, 2), "balkan": (2, 1)}
    assert {k: (g["count"], g["removed"]) for k, g in until.items()} == {"polder": (1, 1), "balkan": (1, 0)}
    assert since["polder"]["median"] == {"low": 10_000, "high": 20_000}


def test_ttr_stats_notice_type_filter(cases):
    groups = ttr_stats(group_by="provider", now=NOW, notice_type="removal_order")

    assert [(g["key"], g["count"], g["median"]) for g in groups] == [
        ("balkan", 1, {"low": 600, "high": 1200})
    ]


def test_ttr_stats_counts_a_finished_cycle_and_its_reappearance(cases, polder):
    from notices.models import RemovalCycle

    url = Url.objects.filter(provider_at_notice=polder, status="removed").first()
    RemovalCycle.objects.create(
        url=url,
        provider_at_notice=polder,
        asn_at_notice=64500,
        country_at_notice="NL",
        notice_type_at_notice="hotline_notice",
        first_notice_sent_at=datetime(2025, 1, 1, tzinfo=UTC),
        removal_confirmed_at=datetime(2025, 1, 2, tzinfo=UTC),
        removed_low=datetime(2025, 1, 1, 1, tzinfo=UTC),
        removed_high=datetime(2025, 1, 1, 2, tzinfo=UTC),
        ttr_low=300,
        ttr_high=400,
        reappeared_at=datetime(2025, 1, 20, tzinfo=UTC),
    )

    polder_stats = by_key(ttr_stats(group_by="provider", now=NOW))["polder"]

    # lo = [300, 3600, 10000, 100000, 172800]: the finished cycle is a fifth case and a reappearance.
    assert (polder_stats["count"], polder_stats["removed"], polder_stats["reappeared"]) == (5, 4, 1)
    assert polder_stats["median"] == {"low": 10_000, "high": 20_000}
    assert polder_stats["max"] == {"low": 172_800, "high": None}
