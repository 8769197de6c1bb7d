"""Enqueueing Celery tasks by their stable names (`notices/tasks.py` defines them; names never change).

Code below the interfaces never imports the task module: it names the task here, and the message goes out when
the caller's transaction commits (a worker must find the rows the task is about), or at once outside one.
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


def send(name: str, *args, **options) -> None:
    """Publish the task `name` with positional `args` now. `options` are Celery's (countdown, retry,
    producer)."""
    current_app.send_task(name, args=args, **options)


def after_commit(name: str, *args, **options) -> None:
    """Publish the task `name` once the current transaction commits (at once when there is none); nothing is
    sent if it rolls back."""
    transaction.on_commit(partial(send, name, *args, **options))


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
        except OperationalError as exc:
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
