"""The dashboard's charts of time to removal: the distribution by band (both bounds), the survival curve, the
monthly trend of median and p90, what came back, each saying how old it is; and the empty state."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from notices.models import RemovalCycle, Url
from notices.selectors.dashboard import distribution_chart, survival_chart, trend_chart
from notices.selectors.stats import refresh_snapshots

pytestmark = pytest.mark.django_db
DAY = 86400


@pytest.fixture
def noticed_cases(make_provider, make_case, make_notice):
    """Eight cases of one provider noticed in two months: six removed ([low, high] in hours below), two
    still up; one removed case had come back once before."""
    provider = make_provider("polder", country="NL", channel="api_only")
    now = datetime.now(UTC)
    hours = [(0.5, 0.7), (2, 3), (20, 30), (50, 60), (100, 120), (300, 400), None, None]
    cases = []
    for i, ttr in enumerate(hours):
        sent = now - timedelta(days=40 if i % 2 else 5)
        case = make_case(f"http://files.polder.example/chart/{i}.html", provider=provider, when=sent)
        make_notice(case, now=sent)
        fields = {"first_notice_sent_at": sent, "country_at_notice": "NL"}
        if ttr:
            low, high = (int(h * 3600) for h in ttr)
            fields.update(
                status="removed",
                removal_confirmed_at=sent + timedelta(seconds=high + 60),
                removed_low=sent + timedelta(seconds=low),
                removed_high=sent + timedelta(seconds=high),
                ttr_low=low,
                ttr_high=high,
            )
        Url.objects.filter(pk=case.pk).update(**fields)
        cases.append(case)
    before = now - timedelta(days=90)
    RemovalCycle.objects.create(
        url=cases[0],
        provider_at_notice=provider,
        country_at_notice="NL",
        notice_type_at_notice="hotline_notice",
        first_notice_sent_at=before,
        removal_confirmed_at=before + timedelta(hours=2),
        removed_low=before + timedelta(hours=1),
        removed_high=before + timedelta(hours=2),
        ttr_low=3600,
        ttr_high=7200,
        reappeared_at=before + timedelta(days=3),
    )
    refresh_snapshots(now=now)
    return cases


def test_the_dashboard_draws_every_chart_with_its_age(admin_client, noticed_cases):
    page = admin_client.get("/admin/dashboard/").content.decode()
    for chart in (
        "distribution-chart",
        "survival-chart",
        "trend-chart",
        "recidivism-table",
        "overview-shares",
    ):
        assert f'id="{chart}"' in page, chart
    assert "9 noticed cases, 7 removed, 2 still up; 1 came back" in " ".join(page.split())
    assert re.search(r'id="overview-as-of">As of \d{4}-\d\d-\d\d', page)
    assert "from the statistics snapshot" in page
    # The distribution counts each removal once per bound: "1 / 1" in the band < 1 h (0.5–0.7 h).
    assert "1 / 1" in page
    polylines = re.findall(r'<polyline class="line (lo|hi)[^"]*" points="([^"]+)"', page)
    assert len(polylines) == 6 and all(len(points.split()) >= 2 for _, points in polylines)


def test_the_dashboard_without_notices_says_what_will_appear(admin_client):
    page = admin_client.get("/admin/dashboard/").content.decode()
    assert "the charts of time to removal appear once the first notices have gone out" in page
    assert 'id="survival-chart"' not in page


def test_chart_coordinates():
    distribution = {"bands": ["< 1 h", "1–6 h"], "low": [2, 1], "high": [1, 2], "still_up": 4}
    chart = distribution_chart(distribution)
    assert chart["still_up"]["width"] == 520 and chart["rows"][0]["low_width"] == 260
    assert distribution_chart({"bands": [], "low": [], "high": [], "still_up": 0}) is None
    curve = [{"t": t, "low": 1 - i / 10, "high": 1 - i / 20} for i, t in enumerate([3600, 86400, 30 * DAY])]
    survival = survival_chart({"survival": curve})
    first, *_, last = survival["lines"]["low"].split()
    assert first == "56,10.0" and last.startswith("576.0,")
    months = [
        {"key": "2026-01", "median": {"low": 3600, "high": 7200}, "p90": {"low": DAY, "high": None}},
        {"key": "2026-02", "median": {"low": 60, "high": 120}, "p90": {"low": 3600, "high": 7200}},
    ]
    trend = trend_chart(months)
    assert len(trend["open_marks"]) == 1 and trend["open_marks"][0]["label"] == "2026-01 p90"
    assert trend["lines"]["median_low"].split()[1] == "576.0,190.0"  # 1 minute: the bottom of the axis
