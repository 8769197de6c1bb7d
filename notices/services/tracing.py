"""Traces that a lost task never made: found again from the database, so a broker that was down when an
assessment committed loses no trace (`notices.infra.enqueue`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from notices.enums import UrlStatus
from notices.infra import enqueue
from notices.infra.claims import claim
from notices.models import Url


def queue_untraced(*, now: datetime, limit: int) -> int:
    """Queue a trace for up to `limit` URLs assessed illegal over TRACE_SWEEP_GRACE ago that have no trace
    at all (a failed trace is a trace too: it has its error and `traced_at`). Each is claimed first
    (`trace_queued_at`, `notices.infra.claims`), so two sweeps at once — a second beat started by mistake —
    never queue one URL twice, and one is queued again only when TRACE_SWEEP_GRACE passed without a trace
    (the task then traces it only if no trace reached it meanwhile: `only_untraced`).
    Returns how many were queued; while the broker is down the claims stand and the grace repeats it."""
    before = now - timedelta(seconds=settings.TRACE_SWEEP_GRACE)
    rows = claim(
        table=Url._meta.db_table,
        due="status = %(assessed)s AND traced_at IS NULL AND purged_at IS NULL AND assessed_at <= %(before)s "
        "AND (trace_queued_at IS NULL OR trace_queued_at < %(before)s)",
        order_by="id",
        limit=limit,
        assign="trace_queued_at = %(now)s",
        params={"assessed": UrlStatus.ASSESSED, "before": before, "now": now},
    )
    queued = 0
    for (url_id,) in sorted(rows):
        if not enqueue.send_or_log(enqueue.TRACE_URL, url_id, kwargs={"only_untraced": True}):
            break
        queued += 1
    return queued
