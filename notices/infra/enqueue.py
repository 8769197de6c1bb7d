"""Enqueueing Celery tasks by their stable names (`notices/tasks.py` defines them; names never change).

Code below the interfaces never imports the task module: it names the task here, and the message goes out when
the caller's transaction commits (a worker must find the rows the task is about), or at once outside one.

A broker that is down when a committed write publishes its follow-up loses nothing: `after_commit` logs it and
returns (the request that wrote still succeeds), and the work is found again from the database by its beat
sweep — the outbox sweep sends the mail, the due-check sweep checks the URL, the trace sweep
(`notices.sweep_untraced`) traces an assessed URL no trace reached, the statistics refresh runs on its
schedule, an analyst alert stays in the alert queue and the daily digest. No task is ever scheduled further
ahead than `MAX_COUNTDOWN` (Redis and RabbitMQ redeliver or drop long-delayed messages): due times live in
database columns.
"""

from __future__ import annotations

import logging
from functools import partial

from celery import current_app
from django.db import transaction
from kombu.exceptions import ChannelError, OperationalError

logger = logging.getLogger(__name__)

# The stable names, one constant per task that code enqueues (the beat schedule names the periodic ones).
TRACE_URL = "notices.trace_url"
CHECK_URLS_NOW = "notices.check_urls_now"
DELIVER_MESSAGE = "notices.deliver_message"
SWEEP_OUTBOX = "notices.sweep_outbox"
REFRESH_STATS = "notices.refresh_stats"
SEND_ANALYST_ALERT = "notices.send_analyst_alert"

# Re-traces an import queues wait in their own queue (tracker/queues.py), never in front of new cases' traces.
IMPORTS_QUEUE = "imports"
MAX_COUNTDOWN = 300  # seconds: the furthest ahead any task is scheduled in the broker
BROKER_ERRORS = (
    OperationalError,
    ConnectionError,
    TimeoutError,
)  # what publishing raises with the broker away


def send(name: str, *args, **options) -> None:
    """Publish the task `name` with positional `args` now. `options` are Celery's (kwargs, countdown, retry,
    producer)."""
    current_app.send_task(name, args=args, **options)


def after_commit(name: str, *args, **options) -> None:
    """Publish the task `name` once the current transaction commits (at once when there is none); nothing is
    sent if it rolls back, and a broker that is down is logged, not raised (see the module docstring)."""
    transaction.on_commit(partial(send_or_log, name, *args, **options))


def send_or_log(name: str, *args, **options) -> bool:
    """`send`, but a broker that refuses is a warning (the caller's sweep finds the work again); returns
    whether it was published."""
    try:
        send(name, *args, **options)
    except BROKER_ERRORS as exc:
        logger.warning("%s%s not queued, the broker refused (%s); its sweep picks it up", name, args, exc)
        return False
    return True


def send_many(name: str, count: int) -> None:
    """Publish `count` argument-less messages of task `name` over one broker connection."""
    with current_app.producer_or_acquire() as producer:
        for _ in range(count):
            current_app.send_task(name, producer=producer)


def after_commit_many(name: str, arguments: list[list], **options) -> None:
    """Publish task `name` once per argument list over one broker connection when the transaction commits
    (`options` are Celery's: `queue` to send them elsewhere than the task's own queue). A broker that is down
    loses nothing the caller committed: it is logged, and the caller's own sweep queues the work again
    (re-evaluation, for one)."""

    def publish() -> None:
        try:
            with current_app.producer_or_acquire() as producer:
                for args in arguments:
                    current_app.send_task(name, args=args, producer=producer, **options)
        except BROKER_ERRORS as exc:
            logger.warning("%s: %d task(s) not queued, the broker refused (%s)", name, len(arguments), exc)

    transaction.on_commit(publish)


def queue_depths(names, *, timeout: float = 2) -> dict[str, int | None]:
    """Messages waiting in each queue of `names` (a queue nobody declared yet: 0), or None for every queue
    when the broker cannot be reached (the metrics then say so instead of failing the scrape)."""
    depths: dict[str, int | None] = dict.fromkeys(names)
    try:
        with current_app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
            for name in names:
                channel = connection.channel()  # a failed passive declare may close its channel (AMQP)
                try:
                    depths[name] = channel.queue_declare(queue=name, passive=True).message_count
                except ChannelError:
                    depths[name] = 0
                finally:
                    channel.close()
    except (OperationalError, OSError) as exc:
        logger.warning("queue depths: broker unreachable (%s)", exc)
        return dict.fromkeys(names)
    return depths
