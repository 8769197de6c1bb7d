"""A claimed outbox message through its provider's abuse API, and a filed report's status read back.

1. The provider's channel settings and decrypted credentials are checked (`Channel.validate`); a problem is
   a retry (a supervisor can fix it before the attempts run out), never a request.
2. The channel's requests for the message are written as `ChannelReport` rows before anything is sent (one
   per position; a retry finds them).
3. Each request not yet accepted is filed in a transaction of its own that holds the message's row lock
   (`lock`, the outbox's: a withdrawal waits for a request under way, and one the worker lost or whose
   notice was withdrawn is not filed); the answer is stored in that transaction — an accepted report's id
   the moment it is accepted — so a retry or a second worker never files an accepted request again.
4. The first answer worth a retry (5xx, 429, network) stops the run: the message is retried with backoff
   kept in the database, not before the provider's Retry-After. When every request is answered, the message
   is sent if any was accepted (the time of the first acceptance is the notice's first-notice time), failed
   when all were refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notices.delivery.channels import CHANNELS
from notices.delivery.channels.base import Accepted, Context, Rejected, RetryLater, Status
from notices.enums import ChannelReportStatus, OutboxStatus
from notices.infra.credentials import CredentialsError, decrypt_credentials
from notices.infra.events import record_event
from notices.models import ChannelReport, Notice, OutgoingMessage, Url


class ChannelRun(NamedTuple):
    """What a message's run through its channel came to: `status` sent, pending (retry) or failed; `held` is
    the outbox's own answer when the message was not this worker's to send (or its notice was withdrawn)."""

    status: str
    at: datetime
    error: str = ""
    retry_after: float | None = None
    held: object | None = None


def context_for(message: OutgoingMessage, *, notice_body: Callable[[Notice], dict] | None) -> Context:
    """The channel's view of the message (raises CredentialsError when the credentials cannot be read)."""
    notice = message.notice
    urls = Url.objects.filter(notice_items__notice=notice).select_related(
        "current_assessment", "current_trace"
    )
    if message.url_ids is not None:
        urls = urls.filter(pk__in=message.url_ids)
    provider = notice.provider
    return Context(
        notice=notice,
        urls=list(urls.order_by("pk")),
        config=provider.channel_config or {},
        credentials=decrypt_credentials(provider.channel_credentials),
        message_id=message.message_id,
        created_at=message.created_at,
        notice_body=notice_body,
    )


def run_message(
    message: OutgoingMessage,
    *,
    lock: Callable[[], object | None],
    notice_body: Callable[[Notice], dict] | None = None,
) -> ChannelRun:
    """File a claimed channel message's requests (steps 1–4 of the module docstring)."""
    channel = CHANNELS[message.channel]
    try:
        context = context_for(message, notice_body=notice_body)
    except CredentialsError as exc:
        return ChannelRun(OutboxStatus.PENDING, timezone.now(), error=str(exc))
    problems = channel.validate(context.config, context.credentials)
    if problems:
        text = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in sorted(problems.items()))
        return ChannelRun(OutboxStatus.PENDING, timezone.now(), error=f"channel settings: {text}")
    requests = channel.requests(context)
    rows = _report_rows(message, requests)
    for request in requests:
        row = rows[request.position]
        if row.status != ChannelReportStatus.PENDING:
            continue
        with transaction.atomic():
            held = lock()
            if held is not None:
                return ChannelRun(OutboxStatus.SENDING, timezone.now(), held=held)
            outcome = channel.submit(context, request)
            if isinstance(outcome, RetryLater):
                ChannelReport.objects.filter(pk=row.pk).update(last_error=outcome.error[:500])
                return ChannelRun(
                    OutboxStatus.PENDING, timezone.now(), error=outcome.error, retry_after=outcome.retry_after
                )
            _record_answer(row, outcome, channel_polls=channel.polls, now=timezone.now())
    return _outcome(message)


def _report_rows(message: OutgoingMessage, requests) -> dict[int, ChannelReport]:
    """The message's report rows by position, written now for requests that have none (ON CONFLICT: a
    second worker writing the same rows changes nothing)."""
    now = timezone.now()
    ChannelReport.objects.bulk_create(
        [
            ChannelReport(
                message=message,
                notice_id=message.notice_id,
                channel=message.channel,
                position=request.position,
                label=request.label[:300],
                url_ids=request.url_ids,
                token=request.token[:128],
                created_at=now,
            )
            for request in requests
        ],
        ignore_conflicts=True,
    )
    return {row.position: row for row in ChannelReport.objects.filter(message=message)}


def _record_answer(row: ChannelReport, outcome: Accepted | Rejected, *, channel_polls: bool, now) -> None:
    """Store the provider's answer to one request, with its event on the notice's timeline."""
    data = {"channel": row.channel, "label": row.label, "urls": len(row.url_ids)}
    if isinstance(outcome, Accepted):
        ChannelReport.objects.filter(pk=row.pk).update(
            status=ChannelReportStatus.ACCEPTED,
            remote_id=outcome.remote_id[:128],
            remote_status=outcome.status[:32],
            accepted_at=now,
            last_error="",
            next_poll_at=now + timedelta(seconds=settings.CHANNEL_POLL_INTERVAL) if channel_polls else None,
        )
        record_event(
            "notice.channel_accepted",
            at=now,
            notice=Notice(pk=row.notice_id),
            data={**data, "report": outcome.remote_id},
        )
        return
    ChannelReport.objects.filter(pk=row.pk).update(
        status=ChannelReportStatus.REJECTED, last_error=outcome.error[:500]
    )
    record_event(
        "notice.channel_rejected",
        at=now,
        notice=Notice(pk=row.notice_id),
        data={**data, "error": outcome.error[:500]},
    )


def _outcome(message: OutgoingMessage) -> ChannelRun:
    """Every request answered: sent at the first acceptance, or failed with the provider's reasons."""
    rows = list(ChannelReport.objects.filter(message=message).order_by("position"))
    accepted = [row.accepted_at for row in rows if row.status == ChannelReportStatus.ACCEPTED]
    refused = "; ".join(f"{row.label}: {row.last_error}" for row in rows if row.status != "accepted")
    if accepted:
        return ChannelRun(OutboxStatus.SENT, min(accepted), error=refused)
    return ChannelRun(OutboxStatus.FAILED, timezone.now(), error=refused or "nothing to file")


def poll_report(report: ChannelReport) -> Status | RetryLater:
    """The provider's status of one accepted report (its channel polls)."""
    message = OutgoingMessage.objects.select_related("notice__provider").get(pk=report.message_id)
    try:
        context = context_for(message, notice_body=None)
    except CredentialsError as exc:
        return RetryLater(str(exc))
    return CHANNELS[report.channel].poll(context, report.remote_id)
