"""Work is never lost to a broker that is away, and never waits in the broker: a committed write whose
follow-up task the broker refused is found again by its sweep; no task is ever scheduled further ahead than
`enqueue.MAX_COUNTDOWN`; two trace sweeps at once (two beats) queue each URL once."""

from __future__ import annotations

import ast
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from notices.infra import enqueue
from notices.models import Url
from notices.services.assessment import assess_url
from notices.services.intake import ReportInput, submit_report
from notices.services.tracing import queue_untraced
from tracker.celery import app

ROOT = Path(__file__).resolve().parents[2]


def countdowns_in_code() -> list[tuple[str, str]]:
    """(where, expression) of every `countdown=` / `eta=` keyword in notices/ and tracker/."""
    found = []
    for path in [*(ROOT / "notices").rglob("*.py"), *(ROOT / "tracker").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg in {"countdown", "eta"}:
                        where = f"{path.relative_to(ROOT)}:{node.lineno}"
                        found.append((where, ast.unparse(keyword.value)))
    return found


def test_no_task_is_scheduled_further_ahead_than_a_few_minutes():
    bounded = {
        "_countdown(settings.ANALYST_ALERT_RETRY_BASE, self.request.retries + 1)",
        "_countdown(settings.ANALYST_ALERT_RETRY_BASE, retries + 1)",
        "settings.STATS_REFRESH_DEBOUNCE",
    }
    found = countdowns_in_code()
    assert {expression for _, expression in found} == bounded, found  # a new one must be looked at here
    assert enqueue.MAX_COUNTDOWN <= 300
    assert django_settings.STATS_REFRESH_DEBOUNCE <= enqueue.MAX_COUNTDOWN
    from notices.tasks import _countdown

    retries = range(1, django_settings.ANALYST_ALERT_MAX_RETRIES + 2)
    waits = [_countdown(django_settings.ANALYST_ALERT_RETRY_BASE, n) for n in retries]
    assert max(waits) == enqueue.MAX_COUNTDOWN  # uncapped, the fifth retry would wait 32 minutes
    assert waits == sorted(waits)


@pytest.fixture
def broker_down():
    """The app's broker pointed at a socket nothing listens on, as a broker that went away."""
    saved = app.conf.broker_url  # its pools stay open in kombu's registry, found again after
    app.conf.broker_url = "redis+socket:///nonexistent/redis.sock"
    app._pool = None
    app.amqp._producer_pool = None
    yield
    app.conf.broker_url = saved
    app._pool = None
    app.amqp._producer_pool = None


def assessed_url(analyst, now, n: int = 0) -> Url:
    url = Url.objects.get(
        pk=submit_report(item=ReportInput(url=f"http://files.polder.example/{n}.html"), now=now).url_id
    )
    assess_url(url=url, analyst=analyst, legality="illegal_international", classification="A1", now=now)
    return url


def test_assessment_with_the_broker_down_is_stored_and_its_trace_found_by_the_sweep(
    transactional_db, broker_down, analyst, now, settings, caplog
):
    settings.TRACE_SWEEP_GRACE = 60
    url = assessed_url(analyst, now)  # its trace task is refused after commit: logged, not raised
    url.refresh_from_db()
    assert (url.status, url.traced_at) == ("assessed", None)
    assert any("not queued, the broker refused" in record.getMessage() for record in caplog.records)
    assert queue_untraced(now=now + timedelta(seconds=59), limit=10) == 0  # its own task may still come
    assert queue_untraced(now=now + timedelta(seconds=61), limit=10) == 0  # broker still down: none queued
    url.refresh_from_db()
    assert url.trace_queued_at == now + timedelta(seconds=61)  # claimed; queued again after the grace


def test_two_trace_sweeps_at_once_queue_each_url_once(transactional_db, analyst, now, settings):
    settings.TRACE_SWEEP_GRACE = 0
    urls = [assessed_url(analyst, now, n) for n in range(40)]
    later = now + timedelta(seconds=1)
    counts, barrier = [], threading.Barrier(2)

    def sweep() -> None:
        barrier.wait()
        try:
            counts.append(queue_untraced(now=later, limit=100))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(counts) == len(urls)  # claims split the URLs between the sweeps, none twice
    assert queue_untraced(now=later, limit=100) == 0
    app.control.purge()  # the session broker's queue: no later test's worker runs these
