"""Escalation of overdue cases: a URL still up after its notice's deadline climbs a ladder of steps.

1. at the deadline: a reminder — the notice is sent again (a new mail in the outbox, "Reminder" in the
   subject);
2. ESCALATION_STEPS[1] after the deadline: the case is flagged to the analysts (dashboard, event);
3. ESCALATION_STEPS[2] after the deadline: flagged for escalation beyond the provider (upstream network,
   registry or law enforcement — the analyst decides and records it).

Each level is written once per URL and notice cycle (unique constraint): a case that reappears and is noticed
again climbs the ladder again. The ladder follows the URL's newest open notice that went out (a draft has no
deadline yet and is not what the provider was told). The sweep claims due URLs with SKIP LOCKED and a lease
(ESCALATION_CLAIM_TIMEOUT), not by clearing their schedule: a step that fails (say every contact of the
provider is failing) is recorded, retried with backoff kept in the database (ESCALATION_RETRY_BASE × 2ⁿ, at
most ESCALATION_RETRY_MAX apart) and alerts the analysts; it never drops the case, nor the rest of its batch.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from notices.delivery.outbox import enqueue_notice_message
from notices.enums import ContactChannel, NoticeStatus, UrlStatus
from notices.errors import NoticeError
from notices.infra.claims import claim
from notices.infra.events import record_event
from notices.infra.retry import backoff
from notices.models import Escalation, Notice, NoticeItem, Url
from notices.services.alerts import alert_delivery_failed

logger = logging.getLogger(__name__)

REASONS = {
    1: "Still up at the notice deadline: reminder sent.",
    2: "Still up well past the deadline: analyst attention needed.",
    3: "Still up long past the deadline: escalate beyond the provider.",
}
# Notices whose provider was told and that are still open: the ones a ladder follows.
ESCALATED_NOTICE_STATES = (NoticeStatus.SENT, NoticeStatus.ACKNOWLEDGED, NoticeStatus.DISPUTED)


def step_offsets() -> list[timedelta]:
    return [timedelta(seconds=s) for s in settings.ESCALATION_STEPS]


def first_escalation_at(deadline: datetime | None) -> datetime | None:
    return deadline + step_offsets()[0] if deadline else None


def claim_due(*, now: datetime, limit: int) -> list[int]:
    """Claim URLs whose next escalation step is due. The claim moves their schedule to the end of a lease
    (ESCALATION_CLAIM_TIMEOUT), so concurrent sweeps never take the same URL, and a sweep that dies leaves
    them due again when the lease ends; the step sets the real next time."""
    rows = claim(
        table=Url._meta.db_table,
        due="next_escalation_at IS NOT NULL AND next_escalation_at <= %(now)s",
        order_by="next_escalation_at",
        limit=limit,
        assign="next_escalation_at = %(lease)s",
        params={"now": now, "lease": now + timedelta(seconds=settings.ESCALATION_CLAIM_TIMEOUT)},
    )
    return [row[0] for row in rows]


def escalate(*, url_id: int, now: datetime) -> Escalation | None:
    """Take the next step for one claimed URL (or retry the one that failed). Side effects: an Escalation row
    and a `url.escalated` event; at level 1 a reminder mail in the outbox; the next step scheduled (or none
    after the last, or for a case no longer noticed). A step that fails is recorded as retrying, rescheduled
    with backoff and alerts the analysts (once per step)."""
    with transaction.atomic():
        url = Url.objects.select_for_update().get(pk=url_id)
        item = _followed_item(url_id) if url.status == UrlStatus.NOTIFIED else None
        if item is None:
            Url.objects.filter(pk=url_id).update(next_escalation_at=None)
            return None
        steps = {e.level: e for e in Escalation.objects.filter(url_id=url_id, notice=item.notice)}
        retrying = [e for e in steps.values() if e.status == Escalation.Status.RETRYING]
        level = retrying[0].level if retrying else max(steps, default=0) + 1
        if level > len(REASONS):
            Url.objects.filter(pk=url_id).update(next_escalation_at=None)
            return None
        escalation = retrying[0] if retrying else Escalation(url_id=url_id, notice=item.notice, level=level)
        try:
            with transaction.atomic():
                _take_step(escalation, item, now=now)
        except NoticeError as exc:
            _failed(escalation, item, error="; ".join(exc.errors.get("detail", [])) or str(exc), now=now)
            return None
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


def _followed_item(url_id: int) -> NoticeItem | None:
    """The URL's newest open notice item whose notice went out: drafts and notices still queued are not what
    the provider was told."""
    return (
        NoticeItem.objects.select_related("notice__provider", "url")
        .filter(
            url_id=url_id,
            is_open=True,
            notice__sent_at__isnull=False,
            notice__deadline_at__isnull=False,
            notice__status__in=ESCALATED_NOTICE_STATES,
        )
        .order_by("-notice_id")
        .first()
    )


def _take_step(escalation: Escalation, item: NoticeItem, *, now: datetime) -> None:
    """The step's action first (it may raise NoticeError), then its row: a failed step leaves no row done."""
    if escalation.level == 1:
        _send_reminder(item.notice, now=now)
    escalation.reason, escalation.created_at = REASONS[escalation.level], now
    escalation.status, escalation.last_error = Escalation.Status.DONE, ""
    escalation.save()


def _failed(escalation: Escalation, item: NoticeItem, *, error: str, now: datetime) -> None:
    """Record a failed step, schedule its retry with backoff and alert the analysts at its first failure."""
    escalation.attempts += 1
    escalation.status, escalation.last_error = Escalation.Status.RETRYING, error[:2000]
    escalation.reason, escalation.created_at = REASONS[escalation.level], escalation.created_at or now
    escalation.save()
    wait = min(
        backoff(settings.ESCALATION_RETRY_BASE, escalation.attempts),
        timedelta(seconds=settings.ESCALATION_RETRY_MAX),
    )
    Url.objects.filter(pk=item.url_id).update(next_escalation_at=now + wait)
    record_event(
        "url.escalation_failed",
        at=now,
        url=item.url,
        notice=item.notice,
        data={"level": escalation.level, "error": error[:500], "retry_at": (now + wait).isoformat()},
    )
    logger.warning("escalation of url %s (level %s) failed: %s", item.url_id, escalation.level, error)
    if escalation.attempts == 1:
        alert_delivery_failed(notice=item.notice, contacts=[], error=error, now=now, reason="step_failed")


def _send_reminder(notice: Notice, *, now: datetime) -> None:
    if notice.provider.channel == ContactChannel.EMAIL:
        enqueue_notice_message(notice=notice, now=now, reminder=True)


def sweep(*, now: datetime, limit: int = 500) -> int:
    """Claim and escalate one bounded batch; returns the steps taken."""
    return sum(escalate(url_id=url_id, now=now) is not None for url_id in claim_due(now=now, limit=limit))
