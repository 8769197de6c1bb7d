"""What a delivery attempt means for its notice: the outbox (`notices.delivery.outbox`) reports sent, retry or
given up; this module records it with the notice's consequences in one transaction."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from notices.delivery.outbox import Attempt, SmtpSession, attempt_claimed, record_attempt
from notices.enums import AlertKind, OutboxStatus
from notices.infra.events import new_event, record_event, record_events
from notices.models import Url
from notices.selectors.representations import NoticeSerializer
from notices.services.alerts import alert_delivery_failed, raise_alert
from notices.services.escalation import delivery as escalation_delivery
from notices.services.notices import mark_notice_failed, mark_notice_sent
from notices.services.presend import recheck_before_send


def notice_as_shown(notice) -> dict:
    """The notice as `GET /api/v1/provider/notices/{reference}/` shows it (the webhook channel's body)."""
    return NoticeSerializer(notice).data


def send_claimed(message_id: int, *, smtp: SmtpSession | None = None) -> str:
    """Send one claimed outbox message and record the outcome. Returns the message's new status.

    Sent: the notice is marked sent (its URLs notified, see `mark_notices_sent`). Retried: a
    `notice.delivery_retry` event. Given up: the notice fails, a `notice.delivery_failed` event, and the
    analysts are alerted (an event now, a mail after commit). A message whose notice was withdrawn is
    cancelled, not sent, and an attempt that failed while the withdrawal cancelled its message changes
    nothing more (`record_attempt`). A mail of an escalation step (a repeat, a notice to the upstream
    network, a hand-off) goes to its step instead (`escalation.delivery`), and is called off when none of its
    URLs is still up. A message of an abuse API channel (Cloudflare, AWS, the webhook) is the same, its
    attempt filed through the channel: sent = the provider accepted it."""
    recheck_before_send(message_id, now=timezone.now())  # moved URLs go to their new provider instead
    attempt = attempt_claimed(
        message_id, smtp=smtp, unwanted=escalation_delivery.unwanted, notice_body=notice_as_shown
    )
    if attempt.changed:
        with transaction.atomic():
            if record_attempt(attempt):
                _apply(attempt)
    return attempt.status


def _apply(attempt: Attempt) -> None:
    message, at = attempt.message, attempt.at
    if attempt.cancelled:  # its notice was withdrawn: nothing follows, for the notice or an escalation step
        return
    if attempt.held_until is not None:  # a case it names is under a hold (on the case's timeline): it waits
        return
    if message.run_id is not None:
        escalation_delivery.record_delivery(attempt)
        return
    if message.notice_id is None:  # a hand-off to a partner hotline (routing)
        _handoff_delivery(attempt)
        return
    if attempt.status == OutboxStatus.SENT:
        mark_notice_sent(notice=message.notice, at=at)
        return
    give_up = attempt.status == OutboxStatus.FAILED
    if give_up:
        mark_notice_failed(notice=message.notice, at=at)
    record_event(
        "notice.delivery_failed" if give_up else "notice.delivery_retry",
        at=at,
        notice=message.notice,
        data={"error": attempt.error[:500], "attempt": message.attempts},
    )
    if give_up:
        alert_delivery_failed(
            notice=message.notice,
            contacts=list(attempt.refused or message.recipients),
            error=attempt.error,
            now=at,
        )


def _handoff_delivery(attempt: Attempt) -> None:
    """A hand-off mail's attempt, on its cases' timelines; given up, the analysts are alerted."""
    message, at = attempt.message, attempt.at
    to = ", ".join(message.recipients)
    if attempt.status == OutboxStatus.SENT:
        kind, text = "url.handoff_delivered", f"Hand-off mail accepted by the mail server for {to}."
    elif attempt.status == OutboxStatus.PENDING:
        kind = "url.handoff_retry"
        text = f"Hand-off mail to {to} not taken yet ({attempt.error[:200]}); the outbox tries again."
    else:
        kind = "url.handoff_failed"
        text = f"Hand-off mail to {to} could not be delivered: {attempt.error[:300]}"
    record_events(
        [new_event(kind, at=at, url=Url(pk=pk), data={"text": text}) for pk in message.url_ids or []]
    )
    if kind == "url.handoff_failed":
        for pk in message.url_ids or []:
            raise_alert(
                kind=AlertKind.DELIVERY_FAILED,
                key=f"handoff:{message.pk}:{pk}",
                summary=f"Case {pk}: {text}",
                now=at,
                url=Url(pk=pk),
                error=attempt.error,
            )
