"""The one retry schedule: exponential backoff from a base delay (outbox mails, webhooks, analyst alerts)."""

from __future__ import annotations

from datetime import timedelta


def backoff(base_seconds: float, attempts: int) -> timedelta:
    """The wait before the next try after `attempts` tries (the first try counts as 1): base, 2 × base,
    4 × base, …"""
    return timedelta(seconds=base_seconds * 2 ** max(attempts - 1, 0))
