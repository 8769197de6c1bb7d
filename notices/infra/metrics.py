"""Prometheus counters and histograms that processes update as they work (README "Metrics").

Web (gunicorn) and worker (Celery prefork) processes each write their values to files in
PROMETHEUS_MULTIPROC_DIR (METRICS_MULTIPROC_DIR, default var/metrics), and `/metrics` sums every process's
files: prometheus_client's multiprocess mode. It must be set before prometheus_client is first imported,
which is why tracker/settings.py sets it (every process loads the settings first). Gauges of the
deployment's state are not here: `/metrics` reads them from the database at scrape time
(notices/selectors/operations.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import partial

from django.db import transaction
from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "notices_http_requests_total",
    "HTTP requests answered, by route, method and status class.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "notices_http_request_duration_seconds",
    "Time to answer an HTTP request, by route and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CHECKS = Counter("notices_checks_total", "Liveness checks recorded, by outcome.", ["outcome"])
ESCALATION_STEPS = Counter(
    "notices_escalation_steps_total",
    "Escalation steps taken by the sweep, by action, first attempt or retry.",
    ["action", "attempt"],
)
COLLECTORS = (REQUESTS, LATENCY, CHECKS, ESCALATION_STEPS)


def multiprocess_dir() -> str | None:
    """The directory the processes write to (None: single-process mode, the values of this process)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def count_checks(outcomes) -> None:
    """One increment per recorded observation's outcome."""
    for outcome in outcomes:
        CHECKS.labels(str(outcome)).inc()


def count_steps(actions: Iterable[str], *, attempt: str) -> None:
    """One increment per step run the sweep takes (`attempt`: "first" or "retry"), once its transaction
    commits: a sweep that rolls back took no step."""
    actions = [str(action) for action in actions]
    if actions:
        transaction.on_commit(partial(_count_steps, actions, attempt))


def _count_steps(actions: list[str], attempt: str) -> None:
    for action in actions:
        ESCALATION_STEPS.labels(action, attempt).inc()
