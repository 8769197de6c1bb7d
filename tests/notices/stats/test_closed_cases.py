"""Closed cases in the time-to-removal statistics: a case closed before its removal is neither a removal nor
still up, so it leaves every figure (counted per group as `closed`), and a reopened one comes back — in the
live answer and in the snapshots, which a close or a reopen marks stale like any counted change."""

from __future__ import annotations

import pytest
from django.utils import timezone

from notices.selectors import stats
from notices.selectors.stats import refresh_snapshots, stale_since
from notices.services.lifecycle import close_case, reopen_case
from tests.notices.stats.conftest import confirm_removals

pytestmark = pytest.mark.django_db


def figures(answer: dict) -> list[tuple]:
    return [(g["key"], g["count"], g["removed"], g["still_up"], g["closed"]) for g in answer["groups"]]


def test_a_closed_case_is_neither_removed_nor_still_up(noticed):
    removed, _still_up, closed = noticed(3)
    confirm_removals([removed])

    close_case(url=closed, reason="duplicate", now=timezone.now())

    answer = stats.time_to_removal(group_by="provider", now=timezone.now(), fresh=True)
    assert figures(answer) == [("polder", 2, 1, 1, 1)]
    (group,) = answer["groups"]
    assert group["still_up_after_days"] == {"1": 0, "3": 0, "7": 0, "30": 0}
    assert group["median"]["high"] is not None  # one removed and one up: the closed case is no third value


def test_closing_and_reopening_mark_the_snapshots_stale(noticed):
    _, case = noticed(2)
    refresh_snapshots(now=timezone.now())
    assert stale_since() is None

    close_case(url=case, reason="out_of_remit", now=timezone.now())

    assert stale_since() is not None
    answer = stats.time_to_removal(group_by="provider", now=timezone.now())
    assert (answer["source"], figures(answer)) == ("live", [("polder", 1, 0, 1, 1)])

    refresh_snapshots(now=timezone.now())
    reopen_case(url=case, now=timezone.now())

    assert stale_since() is not None
    answer = stats.time_to_removal(group_by="provider", now=timezone.now())
    assert (answer["source"], figures(answer)) == ("live", [("polder", 2, 0, 2, 0)])


def test_a_case_closed_before_any_notice_changes_no_statistics(make_case, api_only):
    case = make_case(provider=api_only, when=timezone.now())
    refresh_snapshots(now=timezone.now())

    close_case(url=case, reason="reported_in_error", now=timezone.now())

    assert stale_since() is None  # never counted: the snapshot still holds
    assert stats.time_to_removal(group_by="provider", now=timezone.now())["source"] == "snapshot"


@pytest.mark.parametrize("group_by", ["provider", "asn", "country", "month"])
def test_every_grouping_counts_the_closed_cases(noticed, group_by):
    _kept, closed = noticed(2)
    close_case(url=closed, reason="duplicate", now=timezone.now())

    (group,) = stats.ttr_stats(group_by=group_by, now=timezone.now())

    assert (group["count"], group["closed"]) == (1, 1)
