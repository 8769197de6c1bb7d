"""Checking a claimed batch while recording what is already known: the network and the database overlap.

The event loop checks (notices/checks/engine.py); every RECORD_CHUNK observations go to one writer thread that
records them (notices/checks/recording.py) on its own database connection, in order, while checks go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from django.db import connection
from django.utils import timezone

from notices.checks.engine import CheckConfig, CheckTarget, Observation, check_each
from notices.checks.recording import record_observations

RECORD_CHUNK = 250


def _close_connection() -> None:
    """Runs in the writer thread: `connection` resolves to that thread's own connection there."""
    connection.close()


def _record(chunk: list[Observation]) -> int:
    return record_observations(chunk, now=timezone.now())


def check_and_record(batches: Iterable[tuple[CheckConfig, list[CheckTarget]]]) -> tuple[int, int]:
    """Check every (config, targets) batch and record all observations. Returns (checked, removals).

    An error while recording is raised after the checks end (the claims then expire and come back).
    """
    pending: list[Observation] = []
    futures: list[Future] = []
    checked = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="record-checks") as writer:

        def on_result(observation: Observation) -> None:
            pending.append(observation)
            if len(pending) >= RECORD_CHUNK:
                futures.append(writer.submit(_record, pending.copy()))
                pending.clear()

        try:
            for config, targets in batches:
                checked += asyncio.run(check_each(targets, config, on_result))
            if pending:
                futures.append(writer.submit(_record, pending.copy()))
            removals = sum(future.result() for future in futures)
        finally:
            writer.submit(_close_connection).result()
    return checked, removals
