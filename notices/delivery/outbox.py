"""The transactional outbox: messages written with the notice, claimed by beat, sent over SMTP.

A message is claimed with a conditional UPDATE (status `sending`, `claimed_until`); a claim whose worker died
expires and the message is sent again with the same Message-ID, so the provider sees at worst the same mail
twice, never two different mails. Temporary SMTP errors (4xx, connection failures) retry with exponential
backoff kept in the database (`next_attempt_at`); permanent ones (5xx) fail the message and mark the contact.
"""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection, transaction
from django.utils import timezone

from notices.delivery.compose import build_message
from notices.enums import NoticeStatus, OutboxStatus
from notices.models import Notice, OutgoingMessage, ProviderContact
from notices.services.events import record_event


class NoContactError(ValueError):
    pass


def enqueue_notice_message(*, notice: Notice, now: datetime, reminder: bool = False) -> OutgoingMessage:
    """Write the notice's mail into the outbox (caller holds the transaction) and send it after commit."""
    recipients = list(
        ProviderContact.objects.filter(provider=notice.provider, is_abuse=True, failing=False)
        .order_by("pk")
        .values_list("email", flat=True)
    )
    if not recipients:
        from notices.services.notices import NoticeError

        raise NoticeError({"detail": [f"{notice.provider} has no working abuse contact; add one first."]})
    message = build_message(notice, recipients, now=now)
    if reminder:  # a repeat of the notice: its own Message-ID, the same reference
        message.subject = f"Reminder: {message.subject}"
    row = OutgoingMessage.objects.create(
        notice=notice,
        message_id=message.extra_headers["Message-ID"],
        recipients=recipients,
        subject=message.subject,
        mime=message.message().as_bytes(linesep="\r\n"),  # SMTP wants CRLF; bytes are sent as they are
        next_attempt_at=now,
        created_at=now,
    )
    from notices.tasks import deliver_message_task

    transaction.on_commit(lambda: deliver_message_task.delay(row.pk))
    return row


def claim_due_messages(*, now: datetime, limit: int, message_ids: list[int] | None = None) -> list[int]:
    """Claim pending messages that are due, and stale `sending` claims. Returns claimed ids.

    The due rows are picked in a MATERIALIZED CTE, run exactly once (see `claim_due` for why).
    """
    table = OutgoingMessage._meta.db_table
    only = "AND id = ANY(%(ids)s)" if message_ids is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH due AS MATERIALIZED (
                    SELECT id FROM {table}
                    WHERE ((status = 'pending' AND next_attempt_at <= %(now)s)
                           OR (status = 'sending' AND claimed_until < %(now)s)) {only}
                    ORDER BY next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
                UPDATE {table} AS m SET status = 'sending', claimed_until = %(until)s, attempts = m.attempts + 1
                FROM due WHERE m.id = due.id RETURNING m.id""",
            {"now": now, "until": now + timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT), "limit": limit,
             "ids": message_ids or []},
        )  # fmt: skip
        return [row[0] for row in cursor.fetchall()]


def send_claimed(message_id: int) -> str:
    """Send one claimed message and record the result. Returns the new status."""
    message = OutgoingMessage.objects.select_related("notice").get(pk=message_id)
    if message.status != OutboxStatus.SENDING:
        return message.status
    try:
        refused = _smtp_send(message)
    except smtplib.SMTPRecipientsRefused as exc:
        permanent = min(code for code, _ in exc.recipients.values()) >= 500
        return _failed(
            message, f"recipients refused: {exc.recipients}", permanent=permanent,
            refused=exc.recipients if permanent else None,
        )  # fmt: skip
    except smtplib.SMTPResponseException as exc:
        return _failed(message, f"{exc.smtp_code} {exc.smtp_error!r}", permanent=exc.smtp_code >= 500)
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        return _failed(message, f"{exc.__class__.__name__}: {exc}", permanent=False)
    return _sent(message, timezone.now(), refused=refused)


def _smtp_send(message: OutgoingMessage) -> dict[str, tuple[int, bytes]]:
    """Send the stored bytes; returns the recipients the server refused while it accepted the others."""
    backend = get_connection(fail_silently=False)
    backend.open()
    try:
        return backend.connection.sendmail(
            settings.DEFAULT_FROM_EMAIL, message.recipients, bytes(message.mime)
        )
    finally:
        backend.close()


def _sent(message: OutgoingMessage, at: datetime, *, refused: dict[str, tuple[int, bytes]]) -> str:
    from notices.services.notices import mark_notice_sent

    with transaction.atomic():
        OutgoingMessage.objects.filter(pk=message.pk).update(
            status=OutboxStatus.SENT, sent_at=at, last_error=""
        )
        _mark_refused_contacts(message, refused, at)
        mark_notice_sent(notice=message.notice, at=at)
    return OutboxStatus.SENT


def _mark_refused_contacts(
    message: OutgoingMessage, refused: dict[str, tuple[int, bytes]], at: datetime
) -> None:
    """A recipient refused permanently (5xx) is a bounce: its contact is marked failing, with the reply."""
    for email, (code, reply) in refused.items():
        if code >= 500:
            ProviderContact.objects.filter(provider=message.notice.provider_id, email=email).update(
                failing=True, failure_reason=f"{code} {reply.decode(errors='replace')}"[:500], failed_at=at
            )


def _failed(
    message: OutgoingMessage,
    error: str,
    *,
    permanent: bool,
    refused: dict[str, tuple[int, bytes]] | None = None,
) -> str:
    """Record a failed attempt: retry later with backoff, or give up (permanent error or attempts used up).

    Only a recipient refused permanently (`refused`) marks the provider's contacts as failing; a message the
    server rejects for its content fails the notice alone.
    """
    now = timezone.now()
    give_up = permanent or message.attempts >= settings.OUTBOX_MAX_ATTEMPTS
    backoff = timedelta(seconds=settings.OUTBOX_RETRY_BASE * 2 ** max(message.attempts - 1, 0))
    with transaction.atomic():
        OutgoingMessage.objects.filter(pk=message.pk).update(
            status=OutboxStatus.FAILED if give_up else OutboxStatus.PENDING,
            next_attempt_at=None if give_up else now + backoff,
            claimed_until=None,
            last_error=error[:2000],
        )
        if give_up:
            Notice.objects.filter(pk=message.notice_id).update(status=NoticeStatus.FAILED)
            _mark_refused_contacts(message, refused or {}, now)
        record_event(
            "notice.delivery_failed" if give_up else "notice.delivery_retry",
            at=now,
            notice=message.notice,
            data={"error": error[:500], "attempt": message.attempts},
        )
    return OutboxStatus.FAILED if give_up else OutboxStatus.PENDING
