"""Celery queues by kind of work, and which task goes to which (README "Deployment": a worker per role).

A registry import (the thousands of re-traces it queues), a statistics refresh or a slow check sweep each wait
in their own queue, so they never hold up mail or checks: a worker started with `-Q mail` takes only mail.
A worker started without `-Q` (as `make run` and the tests do) consumes every queue.
"""

from __future__ import annotations

import os

from tracker.env import env_int

CHECKS = "checks"  # liveness checks: sweeps of due URLs and checks asked for now
MAIL = "mail"  # the outbox, webhooks and analyst alerts: everything that reaches a person or a provider
TRACES = "traces"  # hosting traces of new or changed URLs
IMPORTS = "imports"  # work a registry import queues (its re-traces), never in front of new cases' traces
STATISTICS = "statistics"  # statistics refreshes (seconds of queries at scale)
DEFAULT = "default"  # periodic bookkeeping: dispatch, escalation, purges, partition upkeep

QUEUES = (CHECKS, MAIL, TRACES, IMPORTS, STATISTICS, DEFAULT)
# Prepended to every queue's name on the broker (CELERY_QUEUE_PREFIX): deployments or test runs that share
# one broker keep their messages apart.
PREFIX = os.environ.get("CELERY_QUEUE_PREFIX", "")


def named(queue: str) -> str:
    """The name of a queue on the broker."""
    return PREFIX + queue


# Every task of notices/tasks.py by its stable name (tests/tracker/test_queues.py fails on one missing).
ROUTES = {
    "notices.sweep_due_checks": CHECKS,
    "notices.check_urls_now": CHECKS,
    "notices.sweep_outbox": MAIL,
    "notices.deliver_message": MAIL,
    "notices.sweep_webhooks": MAIL,
    "notices.send_analyst_alert": MAIL,
    "notices.send_alert_digest": MAIL,
    "notices.poll_channel_reports": MAIL,
    "notices.trace_url": TRACES,
    "notices.sweep_untraced": TRACES,
    "notices.refresh_stats": STATISTICS,
    "notices.dispatch_notices": DEFAULT,
    "notices.sweep_escalations": DEFAULT,
    "notices.sweep_orders": DEFAULT,
    "notices.purge_retention": DEFAULT,
    "notices.purge_limit_records": DEFAULT,
    "notices.maintain_check_partitions": DEFAULT,
}

# Processes (prefork pool) a worker of each role starts: `python -m tracker.worker <queue>` reads them.
# Checks run CHECKER_CONCURRENCY requests inside one process, so a few processes carry many checks.
CONCURRENCY = {
    CHECKS: env_int("WORKER_CONCURRENCY_CHECKS", 2, minimum=1),
    MAIL: env_int("WORKER_CONCURRENCY_MAIL", 4, minimum=1),
    TRACES: env_int("WORKER_CONCURRENCY_TRACES", 4, minimum=1),
    IMPORTS: env_int("WORKER_CONCURRENCY_IMPORTS", 2, minimum=1),
    STATISTICS: env_int("WORKER_CONCURRENCY_STATISTICS", 1, minimum=1),
    DEFAULT: env_int("WORKER_CONCURRENCY_DEFAULT", 2, minimum=1),
}


def worker_command(python: str, queues: list[str]) -> list[str]:
    """The worker of one role (or of several queues): its queues, their summed concurrency, one message
    prefetched per process (a long task never sits behind another in a prefetch buffer), a node name naming
    the role."""
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown or not queues:
        raise ValueError(f"unknown queue(s) {unknown or queues}: choose from {', '.join(QUEUES)}")
    return [
        python,
        "-m",
        "celery",
        "-A",
        "tracker",
        "worker",
        "--queues",
        ",".join(named(q) for q in queues),
        "--concurrency",
        str(sum(CONCURRENCY[q] for q in queues)),
        "--prefetch-multiplier",
        "1",
        "--hostname",
        f"{'+'.join(queues)}@%h",
        "--loglevel",
        "INFO",
    ]
