"""The Celery beat schedule: one readable table, one comment per entry."""

from __future__ import annotations

from django.conf import settings


def beat_schedule() -> dict:
    return {
        # Claim URLs whose next_check_at is due and check them in batches (notices/checks).
        "checks-sweep": {
            "task": "notices.sweep_due_checks",
            "schedule": settings.CHECK_SWEEP_INTERVAL,
        },
        # Send pending outbox messages whose next_attempt_at is due (retries live in the database).
        "outbox-sweep": {
            "task": "notices.sweep_outbox",
            "schedule": settings.OUTBOX_SWEEP_INTERVAL,
        },
    }
