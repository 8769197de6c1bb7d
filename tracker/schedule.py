"""The Celery beat schedule: one readable table, one comment per entry."""

from __future__ import annotations

from celery.schedules import crontab
from django.conf import settings


def beat_schedule() -> dict:
    return {
        # Claim URLs whose next_check_at is due and check them in batches (notices/checks).
        "checks-sweep": {
            "task": "notices.sweep_due_checks",
            "schedule": settings.CHECK_SWEEP_INTERVAL,
        },
        # Queue traces of assessed URLs that none reached (a trace task lost while the broker was down).
        "traces-sweep": {
            "task": "notices.sweep_untraced",
            "schedule": settings.TRACE_SWEEP_INTERVAL,
        },
        # Send pending outbox messages whose next_attempt_at is due (retries live in the database).
        "outbox-sweep": {
            "task": "notices.sweep_outbox",
            "schedule": settings.OUTBOX_SWEEP_INTERVAL,
        },
        # Offer new notices to providers' webhooks and retry failed deliveries (notices/delivery/webhooks.py).
        "webhooks-sweep": {
            "task": "notices.sweep_webhooks",
            "schedule": settings.WEBHOOK_SWEEP_INTERVAL,
        },
        # Read the status of reports filed with providers' abuse APIs (AWS Abuse Signal) that are due; a
        # "removed" outcome makes its URLs due for a verification check (notices/services/channels.py).
        "channel-status-poll": {
            "task": "notices.poll_channel_reports",
            "schedule": settings.CHANNEL_POLL_SWEEP_INTERVAL,
        },
        # Batch providers' assessed URLs into notices when their dispatch cycle comes round.
        "notices-dispatch": {
            "task": "notices.dispatch_notices",
            "schedule": settings.NOTICE_DISPATCH_SWEEP_INTERVAL,
        },
        # Take the escalation steps that are due (the policies' ladders: repeat notices, analyst alerts,
        # upstream notices, hand-offs, referrals); failed steps come back here for their retry.
        "escalation-sweep": {
            "task": "notices.sweep_escalations",
            "schedule": settings.ESCALATION_SWEEP_INTERVAL,
        },
        # Record the removal orders whose legal clock ran out (a breach alerts the analysts at once).
        "orders-sweep": {
            "task": "notices.sweep_orders",
            "schedule": settings.ORDER_SWEEP_INTERVAL,
        },
        # Mail the analysts the daily digest of the alert queue (cases needing a human), at the set UTC hour.
        "alerts-digest": {
            "task": "notices.send_alert_digest",
            "schedule": crontab(hour=settings.ANALYST_DIGEST_HOUR, minute=0),
        },
        # Recompute the time-to-removal statistics the API and dashboard serve (raw queries take seconds at
        # scale), so still-up ages move on; a change the snapshots do not include queues its own debounced
        # refresh.
        "stats-refresh": {
            "task": "notices.refresh_stats",
            "schedule": settings.STATS_REFRESH_INTERVAL,
        },
        # Daily: purge the URLs of cases ended longer ago than the retention settings say; the statistics
        # stay (notices/services/retention.py; `manage.py purge_retention` runs the same by hand).
        "retention-purge": {
            "task": "notices.purge_retention",
            "schedule": settings.RETENTION_PURGE_INTERVAL,
        },
        # Make the check table's monthly partitions ahead of time; drop months past CHECK_RETENTION_MONTHS.
        "check-partitions": {
            "task": "notices.maintain_check_partitions",
            "schedule": settings.CHECK_PARTITION_INTERVAL,
        },
        # Forget sign-in attempts the sign-in limits no longer count and API counters of ended windows.
        "limits-purge": {
            "task": "notices.purge_limit_records",
            "schedule": settings.SIGNIN_PURGE_INTERVAL,
        },
    }
