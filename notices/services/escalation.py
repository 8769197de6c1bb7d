"""Escalation of overdue cases: a URL still up after its notice's deadline climbs a ladder of steps.

1. at the deadline: a reminder — the notice is sent again (a new mail in the outbox, "Reminder" in the
   subject);
2. ESCALATION_STEPS[1] after the deadline: the case is flagged to the analysts (dashboard, event);
3. ESCALATION_STEPS[2] after the deadline: flagged for escalation beyond the provider (upstream network,
   registry or law enforcement — the analyst decides and records it).
Each level is written once per URL (unique constraint); the sweep claims due URLs with SKIP LOCKED.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from notices.delivery.outbox import enqueue_notice_message
from notices.enums import ContactChannel, UrlStatus
from notices.infra.claims import claim
from notices.infra.events import record_event
from notices.models import Escalation, Notice, NoticeItem, Url

REASONS = {
    1: "Still up at the notice deadline: reminder sent.",
    2: "Still up well past the deadline: analyst attention needed.",
    3: "Still up long past the deadline: escalate beyond the provider.",
}


def step_offsets() -> list[timedelta]:
    return [timedelta(seconds=s) for s in settings.ESCALATION_STEPS]


def first_escalation_at(deadline: datetime | None) -> datetime | None:
    return deadline + step_offsets()[0] if deadline else None


def next_step_at(url_id: int, deadline: datetime | None) -> datetime | None:
    """When the URL's next escalation step is due by its notice's `deadline`, from the steps it has taken (a
    reopened case takes up its ladder where it was); None without a deadline or after the last step."""
    done = Escalation.objects.filter(url_id=url_id).count()
    offsets = step_offsets()
    return deadline + offsets[done] if deadline and done < len(offsets) else None


def claim_due(*, now: datetime, limit: int) -> list[int]:
    """Claim noticed URLs whose next escalation step is due; the claim clears the schedule (the step sets the
    next one), so concurrent sweeps never take the same URL."""
    rows = claim(
        table=Url._meta.db_table,
        due="next_escalation_at IS NOT NULL AND next_escalation_at <= %(now)s AND status = %(status)s",
        order_by="next_escalation_at",
        limit=limit,
        assign="next_escalation_at = NULL",
        params={"now": now, "status": UrlStatus.NOTIFIED.value},
    )
    return [row[0] for row in rows]


def escalate(*, url_id: int, now: datetime) -> Escalation | None:
    """Take the next step for one claimed URL. Side effects: an Escalation row and a `url.escalated` event; at
    level 1 a reminder mail in the outbox; the next step scheduled (or none after the last)."""
    with transaction.atomic():
        item = (
            NoticeItem.objects.select_related("notice__provider", "url")
            .filter(url_id=url_id, is_open=True)
            .order_by("-notice_id")
            .first()
        )
        if item is None or item.notice.deadline_at is None:
            return None
        level = (
            Escalation.objects.filter(url_id=url_id)
            .order_by("-level")
            .values_list("level", flat=True)
            .first()
            or 0
        ) + 1
        if level > len(REASONS):
            return None
        try:
            with transaction.atomic():
                escalation = Escalation.objects.create(
                    url_id=url_id, notice=item.notice, level=level, reason=REASONS[level], created_at=now
                )
        except IntegrityError:  # another sweep took this step
            return None
        if level == 1:
            _send_reminder(item.notice, now=now)
        offsets = step_offsets()
        following = item.notice.deadline_at + offsets[level] if level < len(offsets) else None
        Url.objects.filter(pk=url_id).update(next_escalation_at=following)
        record_event(
            "url.escalated",
            at=now,
            url=item.url,
            notice=item.notice,
            data={"level": level, "reason": REASONS[level]},
        )
    return escalation


def _send_reminder(notice: Notice, *, now: datetime) -> None:
    if notice.provider.channel == ContactChannel.EMAIL:
        enqueue_notice_message(notice=notice, now=now, reminder=True)


def sweep(*, now: datetime, limit: int = 500) -> int:
    """Claim and escalate one bounded batch; returns the steps taken."""
    return sum(escalate(url_id=url_id, now=now) is not None for url_id in claim_due(now=now, limit=limit))
