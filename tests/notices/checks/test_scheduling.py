"""claim_due: due rows only, bounded, oldest first, never twice within the claim timeout, never to two
workers."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction

from notices.checks.scheduling import ClaimedUrl, cadence, claim_due, release_claims
from notices.models import DueCheck, Url
from notices.services.intake import ReportInput, submit_report

pytestmark = pytest.mark.usefixtures("removal_settings")


_numbers = itertools.count()


def make_urls(count: int, *, now, due_from, step=timedelta(seconds=1)) -> list[int]:
    """`count` new URLs due at due_from, due_from + step, …; returns their ids in that order."""
    ids = []
    for n in range(count):
        result = submit_report(
            item=ReportInput(url=f"http://files.polder.example/{next(_numbers)}.html"), now=now
        )
        Url.objects.filter(pk=result.url_id).update(next_check_at=due_from + n * step)
        ids.append(result.url_id)
    return ids


def ids_of(claimed: list[ClaimedUrl]) -> list[int]:
    """Claimed ids sorted: which rows are claimed is ordered by due time, the order they come back in is
    not."""
    return sorted(c.url_id for c in claimed)


def test_claim_due_returns_only_due_rows_oldest_first(db, now):
    overdue, due_now, later = make_urls(
        3, now=now, due_from=now - timedelta(minutes=1), step=timedelta(minutes=1)
    )
    (unscheduled,) = make_urls(1, now=now, due_from=now)
    Url.objects.filter(pk=unscheduled).update(next_check_at=None)

    assert ids_of(claim_due(now=now, limit=10)) == [overdue, due_now]

    # The queue mirrors next_check_at (an unscheduled URL has no row); claimed rows wait for the timeout.
    assert dict(DueCheck.objects.values_list("url_id", "due_at")) == {
        overdue: now + timedelta(seconds=900),
        due_now: now + timedelta(seconds=900),
        later: now + timedelta(minutes=1),
    }


def test_due_queue_follows_next_check_at_however_it_is_written(db, now):
    """Triggers keep DueCheck right for ORM saves, queryset updates and raw SQL alike."""
    (url_id,) = make_urls(1, now=now, due_from=now)
    assert DueCheck.objects.get(url_id=url_id).due_at == now

    url = Url.objects.get(pk=url_id)
    url.next_check_at = now + timedelta(hours=2)
    url.save(update_fields=["next_check_at"])
    assert DueCheck.objects.get(url_id=url_id).due_at == now + timedelta(hours=2)

    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Url._meta.db_table} SET next_check_at = NULL WHERE id = %s", [url_id])
    assert not DueCheck.objects.filter(url_id=url_id).exists()
    assert claim_due(now=now + timedelta(days=1), limit=10) == []

    Url.objects.filter(pk=url_id).update(next_check_at=now - timedelta(minutes=1))
    assert ids_of(claim_due(now=now, limit=10)) == [url_id]
    # Writing an equal time leaves the claim; release_claims frees it; a new time replaces a claim.
    Url.objects.filter(pk=url_id).update(next_check_at=now - timedelta(minutes=1))
    assert DueCheck.objects.get(url_id=url_id).claimed_until == now + timedelta(seconds=900)
    release_claims([url_id])
    assert DueCheck.objects.values_list("due_at", "claimed_until").get(url_id=url_id) == (
        now - timedelta(minutes=1),
        None,
    )
    assert ids_of(claim_due(now=now, limit=10)) == [url_id]
    Url.objects.filter(pk=url_id).update(next_check_at=now + timedelta(minutes=7))
    assert DueCheck.objects.values_list("due_at", "claimed_until").get(url_id=url_id) == (
        now + timedelta(minutes=7),
        None,
    )

    Url.objects.filter(pk=url_id).update(next_check_at=None)  # a case is never deleted: its watch ends
    assert not DueCheck.objects.exists()


def test_claim_due_returns_canonical_and_provider(db, make_case, provider, now):
    case = make_case(provider=provider, when=now)
    Url.objects.filter(pk=case.pk).update(next_check_at=now)

    assert claim_due(now=now, limit=1) == [
        ClaimedUrl(case.pk, "http://files.polder.example/a.html", provider.pk)
    ]


def test_claim_due_is_bounded_by_limit_in_due_order(db, now):
    ids = make_urls(5, now=now, due_from=now - timedelta(minutes=10))
    Url.objects.filter(pk=ids[4]).update(next_check_at=now - timedelta(hours=1))

    assert ids_of(claim_due(now=now, limit=2)) == sorted([ids[4], ids[0]])
    assert ids_of(claim_due(now=now, limit=2)) == [ids[1], ids[2]]
    assert ids_of(claim_due(now=now, limit=2)) == [ids[3]]
    assert claim_due(now=now, limit=2) == []


def test_claim_due_is_bounded_by_limit_whatever_the_plan(db, now):
    """Statistics taken while the table was nearly empty make PostgreSQL put the LIMIT … SKIP LOCKED subquery
    on the inner side of a nested loop and run it again per row: the claim must still take `limit` rows
    only."""
    make_urls(1, now=now, due_from=now - timedelta(minutes=5))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Url._meta.db_table}")
    make_urls(5, now=now, due_from=now - timedelta(minutes=4))

    assert len(claim_due(now=now, limit=3)) == 3
    assert DueCheck.objects.filter(claimed_until__isnull=False).count() == 3


def test_claim_due_claimed_row_waits_for_the_claim_timeout(db, now):
    (url_id,) = make_urls(1, now=now, due_from=now)

    assert ids_of(claim_due(now=now, limit=1)) == [url_id]
    assert DueCheck.objects.values_list("claimed_until", "due_at").get(url_id=url_id) == (
        now + timedelta(seconds=900),
        now + timedelta(seconds=900),
    )
    # The URL row itself is not written by a claim (its planned time stays as it was).
    assert Url.objects.get(pk=url_id).next_check_at == now
    assert claim_due(now=now + timedelta(seconds=899), limit=1) == []
    # The worker holding the claim died: the row becomes due again by itself.
    assert ids_of(claim_due(now=now + timedelta(seconds=900), limit=1)) == [url_id]


def test_claim_due_url_ids_restricts_to_those_due(db, now):
    first, second, third = make_urls(3, now=now, due_from=now - timedelta(minutes=5))
    (future,) = make_urls(1, now=now, due_from=now + timedelta(hours=1))

    assert ids_of(claim_due(now=now, limit=10, url_ids=[third, first, future])) == [first, third]
    assert ids_of(claim_due(now=now, limit=10)) == [second]


def test_claim_due_empty_url_ids_claims_nothing(db, now):
    make_urls(2, now=now, due_from=now)

    assert claim_due(now=now, limit=10, url_ids=[]) == []
    assert DueCheck.objects.filter(claimed_until__isnull=False).count() == 0


def test_claim_due_second_connection_skips_rows_the_first_holds(transactional_db, now):
    ids = make_urls(6, now=now, due_from=now - timedelta(minutes=5))
    held, claimed, release = [], threading.Event(), threading.Event()

    def first_worker():
        try:
            with transaction.atomic():
                held.extend(ids_of(claim_due(now=now, limit=3)))
                claimed.set()
                release.wait(30)  # keep the row locks until the other connection has claimed
        finally:
            connection.close()

    thread = threading.Thread(target=first_worker)
    thread.start()
    try:
        assert claimed.wait(30)
        second = ids_of(claim_due(now=now, limit=10))
    finally:
        release.set()
        thread.join(30)

    assert (held, second) == (ids[:3], ids[3:])
    assert claim_due(now=now, limit=10) == []


def test_claim_due_concurrent_workers_never_claim_the_same_row(transactional_db, now):
    ids = make_urls(120, now=now, due_from=now - timedelta(minutes=5), step=timedelta(0))
    start = threading.Barrier(2)
    claims: dict[str, list[int]] = {"a": [], "b": []}

    def worker(name):
        try:
            start.wait(30)
            while batch := claim_due(now=now, limit=7):
                claims[name].extend(ids_of(batch))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(name,)) for name in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert set(claims["a"]).isdisjoint(claims["b"])
    assert sorted(claims["a"] + claims["b"]) == sorted(ids)


def test_cadence_first_day_first_week_later(settings, now):
    sent = now - timedelta(days=30)
    assert cadence(first_notice_sent_at=sent, now=sent) == timedelta(minutes=10)
    assert cadence(first_notice_sent_at=sent, now=sent + timedelta(hours=23, minutes=59)) == timedelta(
        minutes=10
    )
    assert cadence(first_notice_sent_at=sent, now=sent + timedelta(days=1)) == timedelta(hours=1)
    assert cadence(first_notice_sent_at=sent, now=sent + timedelta(days=6, hours=23)) == timedelta(hours=1)
    assert cadence(first_notice_sent_at=sent, now=sent + timedelta(days=7)) == timedelta(hours=6)


def test_cadence_without_notice_is_the_first_day_interval(settings, now):
    assert cadence(first_notice_sent_at=None, now=now) == timedelta(minutes=10)
