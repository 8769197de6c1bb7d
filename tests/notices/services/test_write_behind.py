"""WriteBehind: statements queued on a helper thread run in order in the caller's transaction; the first error
is raised on the caller as django.db's, stops the rest and rolls back with the block; deferrable constraints
are checked at once inside the block and deferred again after it."""

from __future__ import annotations

import threading
import time

import psycopg2.extensions
import pytest
from django.db import IntegrityError, connection, transaction

from notices.infra.write_behind import WriteBehind, allocate_ids, run
from notices.models import Event, Notice, Partner

pytestmark = pytest.mark.django_db

PARTNER = (
    f"INSERT INTO {Partner._meta.db_table} (name, country, receives_handoffs, handoff_email, created_at)"
    " VALUES (%s, '', false, '', now())"
)
# An event naming a notice that does not exist: Django's foreign keys are DEFERRABLE INITIALLY DEFERRED.
DANGLING_EVENT = (
    f"INSERT INTO {Event._meta.db_table} (kind, at, notice_id, actor, data)"
    " VALUES ('test.dangling', now(), %s, 'test', '{}')"
)


@pytest.fixture
def helper_threads():
    """The write-behind helper threads alive now that were not before the test (joined ones are not alive)."""
    before = set(threading.enumerate())
    return lambda: [t for t in threading.enumerate() if t.name == "write-behind" and t not in before]


def missing_notice_id() -> int:
    """A notice id nobody has: taken from the sequence and never inserted."""
    return allocate_ids(Notice, 1)[0]


def wait_until_aborted(timeout: float = 5) -> None:
    """Until the helper's failing statement has aborted the transaction (read from the driver, no query), and
    a moment more for the helper to note its error."""
    deadline = time.monotonic() + timeout
    while connection.connection.get_transaction_status() != psycopg2.extensions.TRANSACTION_STATUS_INERROR:
        assert time.monotonic() < deadline, "the failing statement did not run"
        time.sleep(0.005)
    time.sleep(0.05)


class Spy:
    """A parameter that notes when the driver adapts it, i.e. when its statement is about to run."""

    def __init__(self) -> None:
        self.adapted = False

    def __conform__(self, protocol):
        self.adapted = True
        return psycopg2.extensions.AsIs("'spied'")


def test_statements_run_in_order_in_the_callers_transaction(helper_threads):
    with transaction.atomic(), WriteBehind() as writes:
        for n in range(30):
            writes.execute(PARTNER, [f"partner-{n}"])
        writes.execute(f"UPDATE {Partner._meta.db_table} SET country = 'NL' WHERE name = %s", ["partner-29"])
        writes.wait()
        # After wait(), the caller's own queries see the rows, in the same transaction.
        seen = list(Partner.objects.order_by("pk").values_list("name", "country"))

    assert seen == [(f"partner-{n}", "NL" if n == 29 else "") for n in range(30)]
    assert list(Partner.objects.order_by("pk").values_list("name", "country")) == seen
    assert helper_threads() == []


def test_block_that_raises_rolls_back_what_the_helper_wrote(helper_threads):
    with pytest.raises(ZeroDivisionError), transaction.atomic(), WriteBehind() as writes:
        writes.execute(PARTNER, ["rolled-back"])
        writes.wait()
        assert Partner.objects.filter(name="rolled-back").exists()
        1 / 0  # noqa: B018

    assert not Partner.objects.filter(name="rolled-back").exists()
    assert helper_threads() == []


def test_error_of_a_queued_statement_is_an_integrity_error_on_the_caller_and_nothing_remains(helper_threads):
    with (
        pytest.raises(IntegrityError, match="duplicate key value") as raised,
        transaction.atomic(),
        WriteBehind() as writes,
    ):
        writes.execute(PARTNER, ["first"])
        writes.execute(PARTNER, ["twice"])
        writes.execute(PARTNER, ["twice"])
        writes.wait()

    assert isinstance(raised.value.__cause__, psycopg2.errors.UniqueViolation)
    assert Partner.objects.count() == 0
    assert helper_threads() == []


def test_statements_queued_after_a_failing_one_are_not_run():
    spy = Spy()

    with pytest.raises(IntegrityError), transaction.atomic(), WriteBehind() as writes:
        writes.execute(PARTNER, ["twice"])
        writes.execute(PARTNER, ["twice"])
        writes.execute(PARTNER, [spy])
        writes.wait()

    assert spy.adapted is False
    assert Partner.objects.count() == 0


def test_execute_after_the_error_raises_it_again():
    with pytest.raises(IntegrityError), transaction.atomic(), WriteBehind() as writes:
        writes.execute(PARTNER, ["twice"])
        writes.execute(PARTNER, ["twice"])
        with pytest.raises(IntegrityError):
            writes.wait()
        writes.execute(PARTNER, ["after"])  # raises: the block is left with the error

    assert Partner.objects.count() == 0


def test_error_found_only_on_leaving_the_block_is_raised_and_the_helper_stops(helper_threads):
    """The caller queues a failing statement last and leaves the block without wait(): leaving raises the
    error, and the helper thread ends, whether or not it had run the statement by then (here it had)."""
    with pytest.raises(IntegrityError), transaction.atomic(), WriteBehind() as writes:
        writes.execute(PARTNER, ["twice"])
        writes.execute(PARTNER, ["twice"])
        wait_until_aborted()

    assert Partner.objects.count() == 0
    assert helper_threads() == []


def test_foreign_keys_are_checked_at_once_inside_the_block():
    with pytest.raises(IntegrityError, match="foreign key"), transaction.atomic(), WriteBehind() as writes:
        writes.execute(DANGLING_EVENT, [missing_notice_id()])
        writes.wait()

    assert not Event.objects.filter(kind="test.dangling").exists()


def _dangling_event_is_deferred() -> bool:
    """Insert an event naming a missing notice in a savepoint: True if accepted (its check deferred to
    commit), False if refused at once. The savepoint is rolled back either way (events are append-only, and
    the test case checks constraints at the end)."""
    try:
        with transaction.atomic():
            run(DANGLING_EVENT, [missing_notice_id()], None)
            transaction.set_rollback(True)
    except IntegrityError:
        return False
    return True


def test_foreign_keys_are_deferred_again_after_a_clean_exit():
    with transaction.atomic():
        with WriteBehind() as writes:
            writes.execute(PARTNER, ["partner"])
        assert _dangling_event_is_deferred()
        # …and the check still runs when asked for (the dangling row goes with the savepoint).
        with transaction.atomic():
            run(DANGLING_EVENT, [missing_notice_id()], None)
            with (
                pytest.raises(IntegrityError, match="foreign key"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            transaction.set_rollback(True)


def test_foreign_keys_are_deferred_again_after_a_failed_block_in_an_outer_transaction():
    with transaction.atomic():
        with pytest.raises(IntegrityError), transaction.atomic(), WriteBehind() as writes:
            writes.execute(PARTNER, ["twice"])
            writes.execute(PARTNER, ["twice"])
            writes.wait()
        assert _dangling_event_is_deferred()


def test_foreign_keys_are_immediate_only_inside_the_block():
    with transaction.atomic():
        assert _dangling_event_is_deferred()
        with WriteBehind() as writes:
            writes.wait()
            assert not _dangling_event_is_deferred()
        assert _dangling_event_is_deferred()


@pytest.mark.django_db(transaction=True)
def test_dangling_foreign_key_after_the_block_fails_at_commit():
    reached = False

    with pytest.raises(IntegrityError, match="foreign key"), transaction.atomic():
        with WriteBehind() as writes:
            writes.execute(PARTNER, ["partner"])
        run(DANGLING_EVENT, [missing_notice_id()], None)
        reached = True

    assert reached
    assert (Partner.objects.count(), Event.objects.filter(kind="test.dangling").count()) == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_is_refused(helper_threads):
    with pytest.raises(RuntimeError, match=r"transaction\.atomic\(\)"), WriteBehind() as writes:
        writes.execute(PARTNER, ["never"])

    assert helper_threads() == []
    assert Partner.objects.count() == 0


def test_run_without_write_behind_runs_at_once():
    run(PARTNER, ["now"], None)

    assert Partner.objects.filter(name="now").exists()


def test_allocate_ids_are_new_and_ascending():
    ids = allocate_ids(Partner, 5)
    run(PARTNER, ["after"], None)

    assert ids == sorted(ids) and len(set(ids)) == 5
    assert Partner.objects.get(name="after").pk > ids[-1]
    assert allocate_ids(Partner, 0) == []
