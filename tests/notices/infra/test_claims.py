"""The claim statement on a queue table of the test's own (status, lease, attempts, as the outbox and webhooks
have): due rows only, bounded, oldest first; a second connection skips what the first holds instead of
waiting; concurrent claimers never share a row; an expired lease is claimed again and counts an attempt."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction

from notices.infra.claims import claim, pending_or_expired

TABLE = "test_claim_queue"
LEASE = timedelta(minutes=5)


@pytest.fixture
def queue(transactional_db):
    with connection.cursor() as cursor:
        cursor.execute(
            f"""CREATE TABLE {TABLE} (id serial PRIMARY KEY, status text NOT NULL,
                attempts int NOT NULL DEFAULT 0, next_attempt_at timestamptz, claimed_until timestamptz)"""
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {TABLE}")


def add(status: str, next_attempt_at=None, claimed_until=None, attempts: int = 0) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (status, next_attempt_at, claimed_until, attempts) VALUES (%s, %s, %s, %s) "
            "RETURNING id",
            [status, next_attempt_at, claimed_until, attempts],
        )
        return cursor.fetchone()[0]


def row(pk: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status, attempts, claimed_until FROM {TABLE} WHERE id = %s", [pk])
        return cursor.fetchone()


def claim_ids(now, limit: int = 10, only=None) -> list[int]:
    rows = claim(
        table=TABLE,
        due=pending_or_expired(),
        order_by="next_attempt_at",
        limit=limit,
        only=only,
        assign="status = 'sending', claimed_until = %(until)s, attempts = t.attempts + 1",
        params={"now": now, "until": now + LEASE},
    )
    return sorted(pk for (pk,) in rows)


def test_claim_takes_due_rows_oldest_first_and_sets_the_lease(queue, now):
    oldest = add("pending", now - timedelta(minutes=3))
    older = add("pending", now - timedelta(minutes=2))
    add("pending", now - timedelta(minutes=1))
    later = add("pending", now + timedelta(minutes=1))
    add("sent")

    assert claim_ids(now, limit=2) == [oldest, older]
    assert row(oldest) == ("sending", 1, now + LEASE)
    assert later not in claim_ids(now)
    assert claim_ids(now) == []  # all claimed: a claim under its lease is not due


def test_claim_only_restricts_to_those_keys_still_only_when_due(queue, now):
    first = add("pending", now - timedelta(minutes=1))
    add("pending", now - timedelta(minutes=1))
    not_due = add("pending", now + timedelta(minutes=1))

    assert claim_ids(now, only=[first, not_due]) == [first]


def test_claim_takes_an_expired_lease_again_and_counts_the_attempt(queue, now):
    stale = add("sending", now - timedelta(hours=1), claimed_until=now - timedelta(seconds=1), attempts=1)
    live = add("sending", now - timedelta(hours=1), claimed_until=now + timedelta(minutes=1), attempts=1)

    assert claim_ids(now) == [stale]
    assert row(stale) == ("sending", 2, now + LEASE)
    assert row(live)[1] == 1


def test_claim_second_connection_skips_rows_the_first_holds(queue, now):
    ids = [add("pending", now - timedelta(minutes=10 - n)) for n in range(6)]
    held, claimed, release = [], threading.Event(), threading.Event()

    def first_worker():
        try:
            with transaction.atomic():
                held.extend(claim_ids(now, limit=3))
                claimed.set()
                release.wait(30)  # keep the row locks until the other connection has claimed
        finally:
            connection.close()

    thread = threading.Thread(target=first_worker)
    thread.start()
    try:
        assert claimed.wait(30)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")  # a claim that waited for the locks fails here
            second = claim_ids(now)
    finally:
        release.set()
        thread.join(30)

    assert (held, second) == (ids[:3], ids[3:])


def test_claim_concurrent_claimers_never_get_the_same_row(queue, now):
    ids = [add("pending", now - timedelta(minutes=1)) for _ in range(150)]
    start = threading.Barrier(2)
    claims: dict[str, list[int]] = {"a": [], "b": []}

    def worker(name):
        try:
            start.wait(30)
            while batch := claim_ids(now, limit=7):
                claims[name].extend(batch)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(name,)) for name in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert set(claims["a"]).isdisjoint(claims["b"])
    assert sorted(claims["a"] + claims["b"]) == ids
    assert {row(pk)[1] for pk in ids} == {1}  # each claimed once
