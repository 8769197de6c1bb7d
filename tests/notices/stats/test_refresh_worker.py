"""Snapshot refreshes with a real Celery worker on the real broker: a removal reaches the snapshot within
seconds, a burst of removals costs a bounded number of recomputations, and a failed refresh is repaired by a
later one. Nothing here calls the refresh itself: the changes queue it, as they do in production."""

from __future__ import annotations

import os
import re
import signal
import time

import pytest
from django.test import Client
from django.urls import reverse

from notices.models import StatsRefresh, StatsSnapshot
from notices.selectors.stats import stale_since
from tests.notices.stats.conftest import confirm_removals

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def wait_until(predicate, *, timeout: float = 20, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def refreshes() -> int:
    state = StatsRefresh.objects.first()
    return state.refreshes if state else 0


def settled() -> bool:
    """Nothing stale, nothing queued, nothing running."""
    state = StatsRefresh.objects.first()
    return stale_since() is None and state is not None and not (state.requested_at or state.started_at)


def snapshot_counts() -> tuple[int, int] | None:
    snapshot = StatsSnapshot.objects.filter(group_by="provider").first()
    if snapshot is None or not snapshot.groups:
        return None
    (group,) = snapshot.groups
    return group["removed"], group["still_up"]


@pytest.fixture
def staff_browser(django_user_model):
    client = Client()
    client.force_login(
        django_user_model.objects.create_superuser("chief", "chief@hotline.example", "pw-12345")
    )
    return client


def test_a_removal_reaches_the_snapshot_and_the_dashboard_within_seconds(
    start_worker, noticed, api_only, staff_browser
):
    start_worker(STATS_REFRESH_DEBOUNCE="0.5")
    (case,) = noticed(1)  # the first notice queues the first refresh
    wait_until(settled, what="the first notice's refresh")
    assert snapshot_counts() == (0, 1)

    started = time.monotonic()
    confirm_removals([case])
    wait_until(lambda: snapshot_counts() == (1, 0) and settled(), timeout=10, what="the removal's refresh")
    assert time.monotonic() - started < 10

    page = staff_browser.get(reverse("dashboard")).content.decode()
    assert "from the statistics snapshot" in page
    row = re.search(
        rf"<td><a [^>]*>{re.escape(api_only.name)}</a></td>"
        rf"<td>\w*</td><td>1</td><td>(\d+)</td><td>(\d+)</td>",
        page,
    )
    assert row and row.groups() == ("1", "0"), page  # removed, and not "still up"


def test_fifty_removals_in_a_burst_cost_a_bounded_number_of_recomputations(start_worker, noticed):
    start_worker(STATS_REFRESH_DEBOUNCE="1")
    cases = noticed(50)
    wait_until(settled, what="the notice's refresh")
    before = refreshes()

    started = time.monotonic()
    for case in cases:  # fifty transactions, one removal each
        confirm_removals([case])
    burst = time.monotonic() - started
    wait_until(lambda: snapshot_counts() == (50, 0) and settled(), timeout=30, what="the burst's refreshes")

    done = refreshes() - before
    # One per debounce window the burst spanned, plus one for changes during the last recomputation.
    assert 1 <= done <= int(burst / 1) + 2, (done, burst)


def test_a_failed_refresh_stays_stale_until_a_later_one_repairs_it(start_worker, noticed, staff_api):
    failing = start_worker(STATS_REFRESH_DEBOUNCE="0.5", STATS_STATEMENT_TIMEOUT="not-a-time")
    (case,) = noticed(1)
    wait_until(lambda: (s := StatsRefresh.objects.first()) and s.failed_at, what="the failing refresh")
    assert "statement_timeout" in StatsRefresh.objects.get().error
    assert stale_since() is not None and snapshot_counts() is None
    os.killpg(failing.pid, signal.SIGTERM)
    failing.wait(15)

    start_worker(STATS_REFRESH_DEBOUNCE="0.5")
    confirm_removals([case])
    body = staff_api.get("/api/v1/stats/time-to-removal/?group_by=provider").json()
    assert body["source"] == "live"  # the stale snapshot is not served; the answer is right anyway
    assert [(g["removed"], g["still_up"]) for g in body["groups"]] == [(1, 0)]
    wait_until(lambda: snapshot_counts() == (1, 0) and settled(), what="the repairing refresh")
    assert StatsRefresh.objects.get().error == ""
    assert staff_api.get("/api/v1/stats/time-to-removal/?group_by=provider").json()["source"] == "snapshot"
