"""Queues by kind of work: every task has a route, each name goes to its queue, a worker per role."""

from __future__ import annotations

import sys

import pytest
from django.conf import settings

from notices.infra import enqueue
from tracker import queues
from tracker.celery import app
from tracker.schedule import beat_schedule

EXPECTED = {
    "notices.sweep_due_checks": "checks",
    "notices.check_urls_now": "checks",
    "notices.sweep_outbox": "mail",
    "notices.deliver_message": "mail",
    "notices.sweep_webhooks": "mail",
    "notices.send_analyst_alert": "mail",
    "notices.send_alert_digest": "mail",
    "notices.trace_url": "traces",
    "notices.refresh_stats": "statistics",
    "notices.dispatch_notices": "default",
    "notices.sweep_escalations": "default",
    "notices.purge_retention": "default",
    "notices.purge_limit_records": "default",
    "notices.maintain_check_partitions": "default",
}


def _queue_of(name: str) -> str:
    """The queue Celery's own router picks for a message of task `name` (as send_task routes it)."""
    route = app.amqp.router.route({}, name)
    return route["queue"].name


def test_every_registered_task_has_an_explicit_route():
    app.loader.import_default_modules()
    names = {name for name in app.tasks if name.startswith("notices.")}
    assert names, "no notices tasks registered"
    assert names - set(queues.ROUTES) == set(), "tasks without a route in tracker/queues.py"
    assert set(queues.ROUTES) - names == set(), "routes naming no task"


@pytest.mark.parametrize(("name", "queue"), sorted(EXPECTED.items()))
def test_each_task_name_goes_to_its_queue(name, queue):
    assert _queue_of(name) == queue


def test_every_beat_entry_and_enqueued_name_is_routed_to_a_known_queue():
    names = {entry["task"] for entry in beat_schedule().values()}
    names |= {
        value
        for key, value in vars(enqueue).items()
        if key.isupper() and isinstance(value, str) and value.startswith("notices.")
    }
    for name in names:
        assert _queue_of(name) in queues.QUEUES, name


def test_an_unknown_name_falls_to_the_default_queue_and_the_import_queue_is_declared():
    assert _queue_of("notices.no_such_task") == "default"
    declared = {q.name for q in settings.CELERY_TASK_QUEUES}
    assert declared == set(queues.QUEUES)
    assert enqueue.IMPORTS_QUEUE in declared


def test_long_tasks_prefetch_one_message_and_ack_late():
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_acks_late is True


def test_worker_command_per_role_takes_its_queues_and_concurrency(monkeypatch):
    monkeypatch.setitem(queues.CONCURRENCY, "checks", 3)
    monkeypatch.setitem(queues.CONCURRENCY, "mail", 5)
    command = queues.worker_command(sys.executable, ["checks", "mail"])
    assert command[command.index("--queues") + 1] == "checks,mail"
    assert command[command.index("--concurrency") + 1] == "8"
    assert command[command.index("--prefetch-multiplier") + 1] == "1"
    assert command[command.index("--hostname") + 1] == "checks+mail@%h"
    with pytest.raises(ValueError, match="unknown queue"):
        queues.worker_command(sys.executable, ["checks", "bulk"])


def test_reevaluation_sends_its_retraces_to_the_imports_queue(monkeypatch):
    from notices.services import reevaluation

    sent = []
    monkeypatch.setattr(
        enqueue, "after_commit_many", lambda name, args, **options: sent.append((name, options))
    )
    batch = reevaluation._Retraces(limit=10)
    batch.add(1)
    batch.flush()
    assert sent == [(enqueue.TRACE_URL, {"queue": "imports"})]


def test_a_worker_started_without_queues_consumes_every_queue():
    """`make run`'s single worker and the tests' workers pass no -Q: they must still take every kind."""
    consumed = set(app.amqp.queues.consume_from or app.amqp.queues)
    assert consumed == set(queues.QUEUES)
