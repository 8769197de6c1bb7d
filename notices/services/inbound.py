"""Acting on inbound mail: replies, auto-replies and bounces to notice mails (parsed and matched by
`notices.delivery.inbound`) are stored and recorded on their notice; a bounce marks contacts and alerts."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction

from notices.delivery.inbound import ParsedMail, match_notice, parse
from notices.infra.events import record_event
from notices.models import InboundMessage, Notice, ProviderContact
from notices.models.inbound import INBOUND_TEXT_LIMIT
from notices.services.alerts import alert_delivery_failed


def ingest_message(raw: bytes, *, now: datetime) -> InboundMessage:
    """Store one received mail and act on it. Returns the row (the existing one if already ingested).

    Side effects, for a message matched to a notice: an event `notice.reply`, `notice.auto_reply` or (a DSN
    with failed recipients) `notice.bounced`; a provider ticket number found in the subject is stored on the
    notice if it has none; a bounce marks the notice provider's contacts that failed (5.x.x) as failing and
    alerts the analysts (`notices.services.alerts`: an event, a mail after commit).
    Idempotent on Message-ID (a message without one is identified by a hash of its bytes).
    """
    mail = parse(raw)
    existing = InboundMessage.objects.filter(message_id=mail.message_id).first()
    if existing is not None:
        return existing
    notice = match_notice(mail)
    if notice is None:
        mail.kind = InboundMessage.Kind.UNMATCHED if mail.kind != InboundMessage.Kind.BOUNCE else mail.kind
    try:
        with transaction.atomic():
            row = _store(mail, notice, raw_size=len(raw), now=now)
            if notice is not None:
                _act_on_notice(mail, notice, row, now=now)
    except IntegrityError:  # the same message ingested concurrently
        return InboundMessage.objects.get(message_id=mail.message_id)
    return row


def _store(mail: ParsedMail, notice: Notice | None, *, raw_size: int, now: datetime) -> InboundMessage:
    return InboundMessage.objects.create(
        received_at=now,
        message_id=mail.message_id,
        from_address=mail.from_address[:300],
        subject=mail.subject[:300],
        kind=mail.kind,
        notice=notice,
        provider_ticket=mail.ticket[:100],
        bounced_recipients=mail.bounced,
        bounce_status=mail.bounce_status[:16],
        bounce_diagnostic=mail.bounce_diagnostic[:2000],
        text=mail.text[:INBOUND_TEXT_LIMIT],
        raw_size=raw_size,
    )


def _act_on_notice(mail: ParsedMail, notice: Notice, row: InboundMessage, *, now: datetime) -> None:
    """Record the event; store the provider's ticket; a bounce marks the failed contacts of the provider."""
    data = {"inbound_message": row.pk, "from": row.from_address, "subject": row.subject}
    if mail.ticket:
        data["provider_ticket"] = row.provider_ticket
        Notice.objects.filter(pk=notice.pk, provider_ticket="").update(provider_ticket=row.provider_ticket)
    if mail.kind == InboundMessage.Kind.BOUNCE:
        if not mail.bounced:
            return  # a delay notice or a report without a permanent failure: kept, nothing to mark
        reason = f"bounce {mail.bounce_status}: {mail.bounce_diagnostic}".strip()[:500]
        for email in mail.bounced:
            ProviderContact.objects.filter(provider=notice.provider_id, email__iexact=email).update(
                failing=True, failure_reason=reason, failed_at=now
            )
        data.update(
            recipients=mail.bounced, status=mail.bounce_status, diagnostic=mail.bounce_diagnostic[:500]
        )
        record_event("notice.bounced", at=now, notice=notice, data=data)
        alert_delivery_failed(notice=notice, contacts=mail.bounced, error=reason, now=now, reason="bounced")
        return
    record_event(f"notice.{mail.kind}", at=now, notice=notice, data=data)
