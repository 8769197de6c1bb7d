"""Traces that a lost task never made: found again from the database, so a broker that was down when an
assessment committed loses no trace (`notices.infra.enqueue`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from notices.enums import UrlStatus
from notices.infra import enqueue
from notices.models import Url


def queue_untraced(*, now: datetime, limit: int) -> int:
    """Queue a trace for up to `limit` URLs assessed illegal more than TRACE_SWEEP_GRACE ago that have no trace
    at all (a failed trace is a trace too: it has its error and `traced_at`, so nothing is queued twice for
    it). Returns how many were queued; a broker still down queues none (the next sweep tries again)."""
    before = now - timedelta(seconds=settings.TRACE_SWEEP_GRACE)
    ids = list(
        Url.objects.filter(status=UrlStatus.ASSESSED, traced_at=None, purged_at=None, assessed_at__lte=before)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    queued = 0
    for url_id in ids:
        if not enqueue.send_or_log(enqueue.TRACE_URL, url_id):
            break
        queued += 1
    return queued
