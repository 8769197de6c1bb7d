"""The transactional outbox: messages written with the notice, claimed by beat, sent over SMTP.

A message is claimed with a conditional UPDATE (status `sending`, the claimer's name in `claimed_by` and a
short lease in `claimed_until`, which the worker's heartbeat renews: `notices.infra.claims`); the claim of a
worker that died runs out within one lease (OUTBOX_CLAIM_TIMEOUT, seconds) and another worker takes it.

Crash safety, in the order of one attempt (`attempt_claimed`):
1. before the mail is handed to the server, the row says so in its own committed statement
   (`in_doubt_since`): from then on the mail may have gone out, and its notice is visible to its provider
   (`notices.selectors.notices.notices_for_provider`);
2. the SMTP conversation runs holding the message's row lock; the server's acceptance is written in that same
   short transaction (`sent_at`, the first acceptance) before anything else happens — no lock on a URL or
   notice row is waited for;
3. the owner of the notice records what the acceptance means (`record_attempt`, then the notice's service) in
   a transaction of its own. A worker that dies between 2 and 3 leaves an accepted message `sending`: the
   worker that takes the claim over records it, and never sends it again.
A worker that dies between 1 and 2 leaves the message in doubt: the server may hold it. The next attempt
sends the same bytes (same Message-ID: the provider sees at worst the same mail twice), counts it in
`duplicates`, and takes the time the doubt began as the first notice sent — the earliest moment the first
copy can have been accepted, so time-to-removal is never under-stated.

Temporary SMTP errors (4xx, connection failures) retry with exponential backoff kept in the database
(`next_attempt_at`); permanent ones (5xx) fail the message and mark the contact.

A withdrawn notice's mails are never sent after the withdrawal: the withdrawal cancels them
(`cancel_messages`: status `cancelled`, with `CANCELLED` as the reason, so no claim takes them again; an
escalation mail called off because its content is gone is `cancelled` too, with its own reason), and a worker
sends
only while it holds the message's row lock and has seen its notice not withdrawn (`attempt_claimed`), so a
withdrawal either waits for a send already under way or is seen by it.

A message of a provider whose channel is an abuse API (`channel` other than e-mail) is claimed, retried and
recorded the same way; its attempt goes through the channel instead of SMTP (`attempt_claimed` hands it to
`notices.delivery.channels.sending`), under the same row lock, and honours the provider's Retry-After.

A mail naming a case under a law-enforcement hold is not sent while the hold lasts: the worker finds the hold
under the message's row lock and puts the message back, due again when the hold times out (or after
HOLD_RECHECK seconds for a hold without a timeout; clearing a hold makes its mails due at once); the attempt
is not counted.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import math
import smtplib
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import NamedTuple

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from notices.delivery.channels.sending import run_message
from notices.delivery.compose import NoticeMail, attach_reports, mail_templates, render_notice_mails
from notices.delivery.items import notice_mail_items
from notices.delivery.signing import sign_for_sending
from notices.enums import API_CHANNELS, NoticeStatus, OutboxStatus
from notices.infra import enqueue
from notices.infra.bulk import array_literal, field_defaults, new_instance
from notices.infra.claims import claim, owner, pending_or_expired, start_heartbeat
from notices.infra.retry import backoff
from notices.infra.write_behind import WriteBehind, allocate_ids
from notices.models import ClockStop, Notice, NoticeItem, OutgoingMessage, ProviderContact, Url

logger = logging.getLogger(__name__)


def abuse_recipients(provider_ids: Iterable[int]) -> dict[int, list[str]]:
    """The working abuse addresses of each provider (one query); a provider without any is missing."""
    recipients: dict[int, list[str]] = {}
    for provider_id, email in (
        ProviderContact.objects.filter(provider_id__in=set(provider_ids), is_abuse=True, failing=False)
        .order_by("pk")
        .values_list("provider_id", "email")
    ):
        recipients.setdefault(provider_id, []).append(email)
    return recipients


def no_contact_error(provider) -> dict[str, list[str]]:
    return {"detail": [f"{provider} has no working abuse contact; add one first."]}


class EscalationMail(NamedTuple):
    """An escalation step's mail for the outbox: its notice, the mail, the step run it delivers and the URLs
    it names."""

    notice: Notice
    mail: NoticeMail
    run_id: int
    url_ids: list[int]


def enqueue_escalation_mails(mails: Sequence[EscalationMail], *, now: datetime) -> list[OutgoingMessage]:
    """Write escalation mails into the outbox (caller holds the transaction; one INSERT) and hand them to
    delivery after commit, as notice mails: claimed, retried with backoff, never sent twice. The first
    delivery attempt adds the X-ARF reports and the CSV of the URLs each names (`message_bytes`)."""
    rows = OutgoingMessage.objects.bulk_create(
        OutgoingMessage(
            notice=entry.notice,
            run_id=entry.run_id,
            url_ids=sorted(entry.url_ids),
            message_id=entry.mail.message_id,
            recipients=entry.mail.recipients,
            subject=entry.mail.subject,
            text=entry.mail.text,
            html=entry.mail.html or "",
            next_attempt_at=now,
            created_at=now,
        )
        for entry in mails
    )
    if rows:
        transaction.on_commit(partial(_hand_off, [row.pk for row in rows]))
    return rows


def enqueue_notice_messages(
    *,
    notices: Sequence[Notice],
    now: datetime,
    recipients: dict[int, list[str]],
    items: dict[int, list[NoticeItem]] | None = None,
    writes: WriteBehind | None = None,
    plan: OutboxPlan | None = None,
) -> list[OutgoingMessage]:
    """Write the mails of many notices into the outbox (caller holds the transaction; every provider has its
    `recipients`, see `abuse_recipients`) and hand each to a delivery task after commit.

    A row holds the rendered mail (subject, text, HTML), its Message-ID and recipients; the first delivery
    attempt adds the attachments and stores the complete MIME bytes before it talks to SMTP (`message_bytes`),
    so a message sent again after a crash is byte-identical, Message-ID included. `items` per notice id saves
    a query per notice. With `writes`, the rows are inserted a slice at a time (`render_slices`) while the
    next are rendered; `plan` (from `plan_messages`, made before the caller queued its own writes) saves
    waiting for them."""
    plan = plan or plan_messages(notices)
    ids = iter(plan.ids)
    defaults, alias = field_defaults(OutgoingMessage), connection.alias
    rows = []
    for start, stop in render_slices(len(notices)):
        part = notices[start:stop]
        written = []
        mails = render_notice_mails(
            part, now=now, recipients=recipients, items=items, templates=plan.templates
        )
        for notice, mail in zip(part, mails, strict=True):
            values = {
                "id": next(ids),
                "message_id": mail.message_id,
                "recipients": mail.recipients,
                "subject": mail.subject,
                "text": mail.text,
                "html": mail.html,
                "next_attempt_at": now,
                "created_at": now,
            }
            if writes is None:  # the plain path: ORM instances, one bulk_create
                written.append(OutgoingMessage(notice=notice, **values))
            else:
                written.append(
                    new_instance(
                        OutgoingMessage,
                        alias,
                        {"notice_id": notice.pk, **values},
                        defaults=defaults,
                        related={"notice": notice},
                    )
                )
        if writes is None:
            OutgoingMessage.objects.bulk_create(written)
        else:
            _insert_messages(written, writes)
        rows += written
    transaction.on_commit(partial(_hand_off, [row.pk for row in rows]))
    return rows


RENDER_SLICE = 100  # mails rendered between two outbox INSERTs
LAST_SLICE = 8  # rows of the final INSERT, the one nothing is rendered behind


def enqueue_channel_messages(notices: Sequence[Notice], *, now: datetime) -> list[OutgoingMessage]:
    """Write one outbox message per notice of a provider whose channel is an abuse API (caller holds the
    transaction) and hand them to delivery after commit: claimed, retried and recorded like mails; the
    channel files the notice's reports (`notices.delivery.channels`). The message id is stable, so the
    channel's tokens derived from it stay the same across retries."""
    rows = OutgoingMessage.objects.bulk_create(
        OutgoingMessage(
            notice=notice,
            channel=notice.provider.channel,
            message_id=f"<{notice.reference}.{notice.provider.channel}@channel.invalid>",
            recipients=[],
            subject=f"{notice.reference} via {notice.provider.get_channel_display()}",
            next_attempt_at=now,
            created_at=now,
        )
        for notice in notices
    )
    if rows:
        transaction.on_commit(partial(_hand_off, [row.pk for row in rows]))
    return rows


def render_slices(count: int) -> list[tuple[int, int]]:
    """(start, stop) of the slices of `count` mails: `RENDER_SLICE` each, then halving towards the end, so the
    INSERT the transaction waits for at its end (nothing left to render behind it) is a few rows, not a
    hundred: 100, 100, …, 50, 25, 12, 8, 5 for 500."""
    slices, start = [], 0
    while start < count:
        remaining = count - start
        size = RENDER_SLICE if remaining >= 2 * RENDER_SLICE else max(LAST_SLICE, remaining // 2)
        slices.append((start, min(count, start + size)))
        start += size
    return slices


class OutboxPlan(NamedTuple):
    """What queuing mails reads before it writes anything: the rows' ids and the templates."""

    ids: list[int]
    templates: dict[tuple[str, str], tuple]


def plan_messages(notices: Sequence[Notice]) -> OutboxPlan:
    return OutboxPlan(
        allocate_ids(OutgoingMessage, len(notices)),
        mail_templates((n.language, n.notice_type) for n in notices),
    )


def _insert_messages(rows: list[OutgoingMessage], writes: WriteBehind) -> None:
    """One INSERT … SELECT FROM unnest of array literals for new outbox rows (ids allocated, made saved by the
    caller). Not COPY: rows here carry whole mails, and COPY's stream (built and escaped in Python, read by
    the driver in pieces) measured slower for them than one statement whose parameters the driver sends as
    they are."""
    writes.execute(
        f"""INSERT INTO {OutgoingMessage._meta.db_table} ({", ".join(MESSAGE_COLUMNS)})
            SELECT * FROM unnest({", ".join(f"%s::{kind}[]" for kind in MESSAGE_COLUMNS.values())})""",
        [array_literal(kind, [getattr(row, name) for row in rows]) for name, kind in MESSAGE_COLUMNS.items()],
    )


MESSAGE_COLUMNS = {
    "id": "bigint", "notice_id": "bigint", "message_id": "text", "recipients": "jsonb", "subject": "text",
    "text": "text", "html": "text", "status": "text", "attempts": "int", "next_attempt_at": "timestamptz",
    "last_error": "text", "created_at": "timestamptz",
}  # fmt: skip


def message_bytes(message: OutgoingMessage) -> bytes:
    """The complete MIME message of an outbox row: stored ones as they are; otherwise (its first delivery
    attempt) the rendered mail with its attachments, from the notice's items, stored before it is returned.

    The row is written only where no bytes are stored yet, and committed at once unless the caller holds a
    transaction: whatever is sent, and sent again, is what the row holds."""
    if message.mime is not None:
        return bytes(message.mime)
    notice = message.notice
    if notice is None:  # a hand-off of cases to a partner hotline: the CSV of their exact URLs
        return _store_mime(message, handoff_bytes(message))
    mail = NoticeMail(
        message_id=message.message_id,
        reference=notice.reference,
        subject=message.subject,
        text=message.text,
        html=message.html,
        recipients=message.recipients,
        date=message.created_at,
    )
    items = notice_mail_items(notice, url_ids=message.url_ids)
    return _store_mime(message, attach_reports(mail, notice, items).as_bytes())


def _store_mime(message: OutgoingMessage, data: bytes) -> bytes:
    table = OutgoingMessage._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} SET mime = %s WHERE id = %s AND mime IS NULL RETURNING id""",
            [data, message.pk],
        )
        if cursor.fetchone() is None:  # stored meanwhile (a worker whose claim expired): that copy counts
            cursor.execute(f"SELECT mime FROM {table} WHERE id = %s", [message.pk])
            data = bytes(cursor.fetchone()[0])
    message.mime = data
    return data


def enqueue_handoff_mail(
    mail: NoticeMail, *, partner_id: int, url_ids: list[int], now: datetime
) -> OutgoingMessage:
    """Write the hand-off of cases to a partner hotline into the outbox (no notice: the partner and the URLs
    name it) and hand it to delivery after commit; claimed, retried and never sent twice as every mail."""
    message = OutgoingMessage.objects.create(
        partner_id=partner_id,
        url_ids=sorted(url_ids),
        message_id=mail.message_id,
        recipients=mail.recipients,
        subject=mail.subject,
        text=mail.text,
        html=mail.html or "",
        next_attempt_at=now,
        created_at=now,
    )
    transaction.on_commit(partial(_hand_off, [message.pk]))
    return message


def handoff_bytes(message: OutgoingMessage) -> bytes:
    """A hand-off mail with the CSV of its cases (exact URLs, classification, hosting as traced)."""
    mail = NoticeMail(
        message_id=message.message_id,
        reference=f"handoff-{message.url_ids[0]}",
        subject=message.subject,
        text=message.text,
        html=message.html,
        recipients=message.recipients,
        date=message.created_at,
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["case", "url", "reported_at", "classification", "ip", "asn", "country"])
    for url in (
        Url.objects.filter(pk__in=message.url_ids)
        .select_related("current_assessment", "current_trace")
        .order_by("pk")
    ):
        trace, assessment = url.current_trace, url.current_assessment
        writer.writerow(
            [
                url.pk,
                url.canonical,
                f"{url.first_reported_at:%Y-%m-%dT%H:%M:%SZ}" if url.first_reported_at else "",
                assessment.classification if assessment else "",
                trace.ip if trace else "",
                trace.asn if trace and trace.asn else "",
                trace.country if trace else "",
            ]
        )
    mail.attachments = [(f"handoff-{message.url_ids[0]}.csv", "text/csv", buffer.getvalue())]
    return mail.as_bytes()


def _hand_off(message_ids: list[int]) -> None:
    """After commit: one message goes to its own delivery task; a batch goes to one outbox sweep per
    `OUTBOX_BATCH_SIZE` messages, which the workers share (claims never overlap). Beat's sweep covers a lost
    one, and a broker that is down (logged, never raised: the notice is committed)."""
    if len(message_ids) == 1:
        enqueue.send_or_log(enqueue.DELIVER_MESSAGE, message_ids[0])
        return
    try:
        enqueue.send_many(enqueue.SWEEP_OUTBOX, math.ceil(len(message_ids) / settings.OUTBOX_BATCH_SIZE))
    except enqueue.BROKER_ERRORS as exc:  # the rows are committed: beat's outbox sweep sends them
        logger.warning("%d outbox message(s) not handed off, the broker refused (%s)", len(message_ids), exc)


def claim_due_messages(*, now: datetime, limit: int, message_ids: list[int] | None = None) -> list[int]:
    """Claim pending messages that are due, and `sending` claims whose lease ran out (their worker died), for
    this process (`claims.owner()`, its heartbeat renewing the lease); each claim counts an attempt. Returns
    claimed ids."""
    lease = timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT)
    rows = claim(
        table=OutgoingMessage._meta.db_table,
        due=pending_or_expired(),
        order_by="next_attempt_at",
        limit=limit,
        assign="status = 'sending', claimed_until = %(until)s, claimed_by = %(owner)s, "
        "attempts = t.attempts + 1",
        only=message_ids,
        params={"now": now, "until": now + lease, "owner": owner()},
    )
    if rows:
        start_heartbeat(OutgoingMessage._meta.db_table, lease)
    return [row[0] for row in rows]


class SmtpSession:
    """One SMTP connection for a run of messages (an outbox sweep), opened at the first message that needs it.
    Any failure closes it and the next message opens a new one, so a refusal or a broken conversation never
    carries over to the next message. `with SmtpSession() as smtp: send_claimed(id, smtp=smtp)`."""

    def __init__(self) -> None:
        self._backend = None
        self.handed = False

    def sendmail(self, recipients: list[str], data: bytes) -> dict[str, tuple[int, bytes]]:
        """MAIL, RCPT per recipient, DATA; returns the recipients refused while others were accepted. After
        a failure, `handed` says whether the data had been handed over (no answer to it: it may have gone
        out) or the server answered / was never reached."""
        self.handed = False
        if self._backend is None:
            backend = get_connection(fail_silently=False)
            backend.open()
            self._backend = backend
        smtp = self._backend.connection
        try:
            smtp.ehlo_or_helo_if_needed()
            code, reply = smtp.mail(settings.DEFAULT_FROM_EMAIL)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, settings.DEFAULT_FROM_EMAIL)
            refused = {}
            for recipient in recipients:
                code, reply = smtp.rcpt(recipient)
                if code not in (250, 251):
                    refused[recipient] = (code, reply)
            if len(refused) == len(recipients):
                raise smtplib.SMTPRecipientsRefused(refused)
            self.handed = True
            code, reply = smtp.data(data)
            if code != 250:
                self.handed = False  # answered: not accepted
                raise smtplib.SMTPDataError(code, reply)
            return refused
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """QUIT, or drop the connection: what was accepted stays accepted, so closing never fails a send."""
        backend, self._backend = self._backend, None
        if backend is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                backend.close()

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


CANCELLED = "cancelled: the notice was withdrawn"


def cancel_messages(notice_ids: Sequence[int]) -> dict[int, int]:
    """Cancel the mails of withdrawn notices not sent yet (the caller holds the transaction that withdraws
    them): pending ones and those a worker holds are cancelled (reason `CANCELLED`), so no claim takes them
    again; one the server accepted already (`sent_at`) is left for its worker to record as sent.
    The UPDATE waits for a send under way (its worker holds the row lock through the SMTP conversation, see
    `attempt_claimed`). Returns the number cancelled per notice id."""
    table = OutgoingMessage._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} SET status = %s, next_attempt_at = NULL, claimed_until = NULL, last_error = %s
                WHERE notice_id = ANY(%s) AND status IN (%s, %s) AND sent_at IS NULL RETURNING notice_id""",
            [OutboxStatus.CANCELLED, CANCELLED, list(notice_ids), OutboxStatus.PENDING, OutboxStatus.SENDING],
        )
        rows = cursor.fetchall()
    counts: dict[int, int] = {}
    for (notice_id,) in rows:
        counts[notice_id] = counts.get(notice_id, 0) + 1
    return counts


class Attempt(NamedTuple):
    """What one delivery attempt came to, for the notice's owner to act on (`notices.services.delivery`).

    `status` is the message's new status: `sent`, `pending` (retried later, with backoff) or `failed` (given
    up); `changed` is False when the message was not this worker's to send (its status as it stands).
    `refused` holds the recipients the server refused, with its replies. `cancelled`: not sent because its
    notice was withdrawn (status cancelled, reason `CANCELLED`; nothing else follows). `doubt` (a failure):
    since when a copy may have gone out, if one may have (`_failed`). `at` of a sent attempt is the message's
    first acceptance (`sent_at`). `held_until`: not sent because a case it names is under a law-enforcement
    hold; due again then."""

    message: OutgoingMessage
    status: str
    at: datetime
    error: str = ""
    refused: dict[str, tuple[int, bytes]] = {}
    changed: bool = True
    cancelled: bool = False
    retry_after: float | None = None  # seconds the provider asked us to wait (its Retry-After)
    doubt: datetime | None = None
    held_until: datetime | None = None


def attempt_claimed(
    message_id: int,
    *,
    smtp: SmtpSession | None = None,
    unwanted: Callable[[OutgoingMessage], bool] | None = None,
    notice_body: Callable[[Notice], dict] | None = None,
) -> Attempt:
    """Try to send one claimed message (steps 1 and 2 of the module docstring); the caller records the attempt
    (`record_attempt`) with what it means for the notice. `smtp` (a sweep's session) reuses its connection;
    without it the message gets a connection of its own. `unwanted(message)`, asked before anything is sent,
    may call the message off (status `cancelled`: an escalation mail whose content was removed meanwhile).
    A channel message goes to its abuse API (`_channel_attempt`; `notice_body` gives the webhook channel the
    notice as the provider API shows it; each request is filed once by its own report row).

    A message the server accepted already (its worker died before recording it) is not sent again: the
    attempt is `sent` at its first acceptance. Written here: the MIME bytes (`message_bytes`), the doubt
    before the handing over, and the acceptance; each committed at once unless the caller holds a
    transaction."""
    if smtp is None:
        with SmtpSession() as own:
            return attempt_claimed(message_id, smtp=own, unwanted=unwanted, notice_body=notice_body)
    message = OutgoingMessage.objects.select_related("notice").get(pk=message_id)
    if message.status != OutboxStatus.SENDING or message.claimed_by != owner():
        return Attempt(message, message.status, timezone.now(), changed=False)
    if message.sent_at is not None:  # accepted before its worker died: record it, never send it twice
        return Attempt(message, OutboxStatus.SENT, message.sent_at)
    if unwanted is not None and unwanted(message):
        return Attempt(message, OutboxStatus.CANCELLED, timezone.now())
    if message.channel in API_CHANNELS:
        return _channel_attempt(message, notice_body)
    try:
        data = message_bytes(message)
    except Exception as exc:  # a mail that cannot be put together is retried, then given up on visibly
        logger.exception("outbox message %s: building the mail failed", message.pk)
        return _failed(
            message,
            f"building the mail failed: {exc.__class__.__name__}: {exc}",
            permanent=False,
            doubt=message.in_doubt_since,
        )
    earlier_doubt = message.in_doubt_since  # an attempt before this one may have gone out
    if not _mark_in_doubt(message):
        return Attempt(message, message.status, timezone.now(), changed=False)
    try:
        with transaction.atomic():
            held = _hold_for_sending(message)
            if held is not None:
                return held
            refused = _smtp_send(message, data, smtp)
            first = _record_acceptance(message, earlier_doubt=earlier_doubt)
    except smtplib.SMTPRecipientsRefused as exc:
        permanent = min(code for code, _ in exc.recipients.values()) >= 500
        return _failed(
            message,
            f"recipients refused: {exc.recipients}",
            permanent=permanent,
            refused=exc.recipients if permanent else None,
            doubt=earlier_doubt,
        )
    except smtplib.SMTPResponseException as exc:
        error = f"{exc.smtp_code} {exc.smtp_error!r}"
        return _failed(message, error, permanent=exc.smtp_code >= 500, doubt=earlier_doubt)
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        doubt = message.in_doubt_since if smtp.handed else earlier_doubt  # handed over, then no answer
        return _failed(message, f"{exc.__class__.__name__}: {exc}", permanent=False, doubt=doubt)
    return Attempt(message, OutboxStatus.SENT, first, refused=refused)


def _mark_in_doubt(message: OutgoingMessage) -> bool:
    """Step 1: say durably that this attempt hands the mail over (the first such moment is kept); False when
    the claim is no longer this worker's."""
    now = timezone.now()
    changed = OutgoingMessage.objects.filter(
        pk=message.pk, status=OutboxStatus.SENDING, claimed_by=owner()
    ).update(in_doubt_since=Coalesce("in_doubt_since", Value(now)))
    if changed and message.in_doubt_since is None:
        message.in_doubt_since = now
    return bool(changed)


def _record_acceptance(message: OutgoingMessage, *, earlier_doubt: datetime | None) -> datetime:
    """Step 2, in the transaction holding the row lock: the server accepted the mail. `sent_at` becomes the
    first acceptance — the moment an earlier attempt's doubt began when there was one (this copy is then a
    duplicate, counted) — and the doubt is over. Returns `sent_at`."""
    first = earlier_doubt or timezone.now()
    OutgoingMessage.objects.filter(pk=message.pk).update(
        sent_at=first,
        in_doubt_since=None,
        duplicates=F("duplicates") + (1 if earlier_doubt else 0),
        claimed_until=timezone.now() + timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT),
    )
    message.sent_at, message.in_doubt_since = first, None
    message.duplicates += 1 if earlier_doubt else 0
    return first


def _channel_attempt(message: OutgoingMessage, notice_body: Callable[[Notice], dict] | None) -> Attempt:
    """The message through its channel, each request under the row lock `_hold_for_sending` takes."""
    try:
        run = run_message(message, lock=partial(_hold_for_sending, message), notice_body=notice_body)
    except Exception as exc:  # a channel that breaks is retried, then given up on visibly, like a mail
        logger.exception("outbox message %s: the %s channel failed", message.pk, message.channel)
        return _failed(message, f"channel failed: {exc.__class__.__name__}: {exc}", permanent=False)
    if run.held is not None:
        return run.held
    if run.status == OutboxStatus.SENT:
        return Attempt(message, OutboxStatus.SENT, run.at, error=run.error)
    return _failed(
        message, run.error, permanent=run.status == OutboxStatus.FAILED, retry_after=run.retry_after
    )


def _hold_for_sending(message: OutgoingMessage) -> Attempt | None:
    """Lock the message's row (until the caller's transaction ends) and look at it and its notice again:
    None when it may be sent, else the attempt that ends here (not this worker's any more, or its notice
    withdrawn)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT m.status, m.claimed_by, n.status FROM {OutgoingMessage._meta.db_table} AS m
                LEFT JOIN {Notice._meta.db_table} AS n ON n.id = m.notice_id
                WHERE m.id = %s FOR UPDATE OF m""",
            [message.pk],
        )
        status, holder, notice_status = cursor.fetchone()
    if status != OutboxStatus.SENDING or holder != owner():
        return Attempt(message, status, timezone.now(), changed=False)
    if notice_status == NoticeStatus.WITHDRAWN:
        return Attempt(message, OutboxStatus.CANCELLED, timezone.now(), error=CANCELLED, cancelled=True)
    now = timezone.now()
    until = held_until(message, now)
    if until is not None:
        return Attempt(
            message, OutboxStatus.PENDING, now, error="held: law-enforcement hold", held_until=until
        )
    return None


def held_until(message: OutgoingMessage, now: datetime) -> datetime | None:
    """When to look again at a mail naming a case under a law-enforcement hold (None: no hold)."""
    url_ids = message.url_ids
    if url_ids is None:
        url_ids = list(
            NoticeItem.objects.filter(notice_id=message.notice_id).values_list("url_id", flat=True)
        )
    holds = list(ClockStop.objects.holds(now).filter(url_id__in=url_ids).values_list("expires_at", flat=True))
    if not holds:
        return None
    recheck = now + timedelta(seconds=settings.HOLD_RECHECK)
    return min(recheck, max(holds)) if all(holds) else recheck  # held while any hold lasts


def _smtp_send(message: OutgoingMessage, stored: bytes, smtp: SmtpSession) -> dict[str, tuple[int, bytes]]:
    """Send the stored bytes, signed now if signing is configured (the stored copy stays unsigned, so a
    re-send keeps its Message-ID); returns the recipients the server refused while it accepted the others.

    A signing failure raises `SigningError` (an OSError) before any connection: retried, never sent
    unsigned."""
    return smtp.sendmail(message.recipients, sign_for_sending(stored))


def _failed(
    message: OutgoingMessage,
    error: str,
    *,
    permanent: bool,
    refused: dict[str, tuple[int, bytes]] | None = None,
    retry_after: float | None = None,
    doubt: datetime | None = None,
) -> Attempt:
    """A failed attempt: retried later with backoff, or given up (permanent error or attempts used up).

    Only a recipient refused permanently (`refused`) marks the provider's contacts as failing; a message the
    server rejects for its content fails the notice alone. `doubt`: since when a copy may have gone out (an
    earlier attempt's doubt, or this one's when the connection broke after the mail was handed over with no
    answer); it stays on the row for the next attempt."""
    give_up = permanent or message.attempts >= settings.OUTBOX_MAX_ATTEMPTS
    status = OutboxStatus.FAILED if give_up else OutboxStatus.PENDING
    return Attempt(
        message,
        status,
        timezone.now(),
        error=error,
        refused=refused or {},
        retry_after=retry_after,
        doubt=doubt,
    )


def record_attempt(attempt: Attempt) -> bool:
    """Write an attempt into the message's row (caller holds the transaction): sent; pending again with the
    next attempt's time (`OUTBOX_RETRY_BASE` × 2ⁿ, or the provider's Retry-After when longer); or failed. A
    recipient refused permanently (5xx) is a bounce: its contact is marked failing, with the reply. An attempt
    that did not send changes only a message still `sending` under this worker's claim (one cancelled or taken
    over meanwhile stays as it is), so an attempt is recorded once. Returns whether the row changed."""
    message, at = attempt.message, attempt.at
    mine = OutgoingMessage.objects.filter(pk=message.pk, status=OutboxStatus.SENDING, claimed_by=owner())
    if attempt.status == OutboxStatus.SENT:
        changed = mine.update(status=OutboxStatus.SENT, sent_at=at, last_error="", claimed_until=None)
    elif attempt.status == OutboxStatus.CANCELLED:
        changed = mine.update(
            status=OutboxStatus.CANCELLED,
            next_attempt_at=None,
            claimed_until=None,
            last_error=attempt.error[:2000] or "cancelled: no longer wanted",
        )
    elif attempt.held_until is not None:  # not an attempt: the claim's count is given back
        return bool(
            mine.update(
                status=OutboxStatus.PENDING,
                next_attempt_at=attempt.held_until,
                claimed_until=None,
                attempts=F("attempts") - 1,
                last_error=attempt.error,
            )
        )
    else:
        wait = max(
            backoff(settings.OUTBOX_RETRY_BASE, message.attempts), timedelta(seconds=attempt.retry_after or 0)
        )
        retry = attempt.status == OutboxStatus.PENDING
        changed = mine.update(
            status=attempt.status,
            next_attempt_at=at + wait if retry else None,
            claimed_until=None,
            in_doubt_since=attempt.doubt,
            last_error=attempt.error[:2000],
        )
    if not changed:  # not this worker's any more (cancelled by a withdrawal, or taken over)
        return False
    for email, (code, reply) in attempt.refused.items():
        if code >= 500 and message.notice_id is not None:  # a provider's contact (not a partner's)
            ProviderContact.objects.filter(provider=message.notice.provider_id, email=email).update(
                failing=True, failure_reason=f"{code} {reply.decode(errors='replace')}"[:500], failed_at=at
            )
    return True
