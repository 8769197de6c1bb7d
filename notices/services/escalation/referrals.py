"""The export of what the ladder referred to authorities: one CSV row per referred URL.

The export carries the exact URLs (an authority needs them; safety rule 2 allows them behind an explicit
action, never in a page), with the notice, the provider, when the case was reported and first noticed, how
long it has been up and the steps it took. Exporting is a sensitive read: it is audited and stamps each
referral's `exported_at`.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from django.db import transaction

from notices.infra.events import audit
from notices.models import Escalation, Referral

COLUMNS = [
    "referral",
    "authority",
    "country",
    "referred_at",
    "notice",
    "notice_type",
    "provider",
    "provider_country",
    "url_id",
    "url",
    "status",
    "first_reported_at",
    "first_notice_sent_at",
    "hours_up",
    "last_checked_at",
    "last_outcome",
    "steps_taken",
]


def export_referrals(referrals, *, actor: str, now: datetime, ip: str | None = None) -> str:
    """The CSV of these referrals' URLs. Side effects: `exported_at` stamped on each; an audit row
    `referral.export` naming them."""
    rows = list(referrals.select_related("notice", "provider").prefetch_related("urls").order_by("pk"))
    steps = _steps_taken(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for referral in rows:
        for url in sorted(referral.urls.all(), key=lambda u: u.pk):
            sent = url.first_notice_sent_at
            writer.writerow(
                [
                    referral.pk,
                    referral.authority,
                    referral.country,
                    referral.created_at.isoformat(),
                    referral.notice.reference,
                    referral.notice.notice_type,
                    referral.provider.name,
                    referral.provider.country,
                    url.pk,
                    url.canonical,
                    url.status,
                    url.first_reported_at.isoformat(),
                    sent.isoformat() if sent else "",
                    int((now - sent).total_seconds() // 3600) if sent else "",
                    url.last_checked_at.isoformat() if url.last_checked_at else "",
                    url.last_outcome,
                    "; ".join(steps.get((url.pk, referral.notice_id), [])),
                ]
            )
    with transaction.atomic():
        Referral.objects.filter(pk__in=[r.pk for r in rows]).update(exported_at=now)
        for referral in rows:
            audit(
                actor=actor,
                action="referral.export",
                obj=referral,
                ip=ip,
                data={"notice": referral.notice_id},
            )
    return buffer.getvalue()


def _steps_taken(referrals: list[Referral]) -> dict[tuple[int, int], list[str]]:
    """Per (URL, notice): the steps its ladder took, in order ("2026-03-01 repeat_notice #1: done", …)."""
    found: dict[tuple[int, int], list[str]] = {}
    rows = (
        Escalation.objects.filter(notice_id__in={r.notice_id for r in referrals}, run__isnull=False)
        .select_related("run")
        .order_by("run__created_at", "run_id")
    )
    for row in rows:
        run = row.run
        found.setdefault((row.url_id, row.notice_id), []).append(
            f"{run.created_at:%Y-%m-%d %H:%M} {run.action} #{run.occurrence}: {run.status}"
        )
    return found
