"""What a provider's abuse API says about the reports filed with it (AWS Abuse Signal: QUEUED → PROCESSING →
COMPLETED with a reason code), recorded on the notice: each status change a `notice.channel_status` event,
and its meaning as the provider's answer — the same one the portal records (`responses.record_response`).

A completed report whose reason code says the content is gone is a "removed" claim: its URLs become
reported-removed and due for an immediate verification check; only the checker confirms a removal. PROCESSING
acknowledges the notice; the other outcomes are the disputes and questions they mean.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from notices.delivery.channels.base import RetryLater
from notices.delivery.channels.sending import poll_report
from notices.enums import ResponseAction
from notices.errors import NoticeError
from notices.infra.claims import claim
from notices.infra.events import record_event
from notices.models import ChannelReport, Notice
from notices.services.responses import record_response

logger = logging.getLogger(__name__)

# What a completed AWS report's reason code means, as the provider's answer to the notice.
REASON_ANSWERS = {
    "ACTIONED": ResponseAction.REMOVED,
    "CONTENT_DOWN_OR_INACCESSIBLE": ResponseAction.REMOVED,
    "REVIEWED_NO_AWS_ACTION": ResponseAction.REFUSED,
    "NOT_RESOLVABLE_TO_AWS": ResponseAction.NOT_OUR_CUSTOMER,
    "NEED_MORE_INFORMATION": ResponseAction.NEED_INFO,
}


def claim_due_polls(*, now: datetime, limit: int) -> list[int]:
    """Claim accepted reports whose status is due to be read: `next_poll_at` moves on by the claim timeout
    (the lease), so a worker that dies leaves the report due again then."""
    rows = claim(
        table=ChannelReport._meta.db_table,
        due="next_poll_at <= %(now)s",
        order_by="next_poll_at",
        limit=limit,
        assign="next_poll_at = %(until)s, polls = t.polls + 1",
        params={"now": now, "until": now + timedelta(seconds=settings.CHANNEL_POLL_CLAIM_TIMEOUT)},
    )
    return [row[0] for row in rows]


def poll_due(*, now: datetime, limit: int) -> int:
    """Beat: read the status of the due reports (one bounded batch) and record what changed. Returns how
    many were read."""
    ids = claim_due_polls(now=now, limit=limit)
    for report_id in ids:
        poll_one(report_id, now=now)
    return len(ids)


def poll_one(report_id: int, *, now: datetime) -> str:
    """Read one claimed report's status and record it (see the module docstring). Returns the status, or
    `retry` when the provider could not be asked (next try after CHANNEL_POLL_INTERVAL × 2ⁿ, at most
    CHANNEL_POLL_MAX times in all)."""
    report = ChannelReport.objects.get(pk=report_id)
    answer = poll_report(report)
    if isinstance(answer, RetryLater):
        give_up = report.polls >= settings.CHANNEL_POLL_MAX
        ChannelReport.objects.filter(pk=report.pk).update(
            last_error=answer.error[:500],
            next_poll_at=None
            if give_up
            else now + timedelta(seconds=settings.CHANNEL_POLL_INTERVAL * 2 ** min(report.polls, 10)),
        )
        logger.info("channel report %s: status not read (%s)", report.pk, answer.error)
        return "retry"
    with transaction.atomic():
        changed = (answer.status, answer.reason_code) != (report.remote_status, report.reason_code)
        ChannelReport.objects.filter(pk=report.pk).update(
            remote_status=answer.status[:32],
            reason_code=answer.reason_code[:64],
            polled_at=now,
            last_error="",
            next_poll_at=None
            if answer.done or report.polls >= settings.CHANNEL_POLL_MAX
            else now + timedelta(seconds=settings.CHANNEL_POLL_INTERVAL),
        )
        if changed:
            notice = Notice.objects.get(pk=report.notice_id)
            record_event(
                "notice.channel_status",
                at=now,
                notice=notice,
                actor=report.channel,
                data={
                    "channel": report.channel,
                    "report": report.remote_id,
                    "status": answer.status,
                    "reason": answer.reason_code,
                    "description": answer.description,
                },
            )
            _answer(notice, report, answer.status, answer.reason_code, now=now)
    return answer.status


def _answer(notice: Notice, report: ChannelReport, status: str, reason: str, *, now: datetime) -> None:
    """The status as the provider's answer to the notice, for the report's URLs (a notice that can no
    longer be answered — withdrawn, closed — keeps only the event)."""
    if status == "COMPLETED":
        action = REASON_ANSWERS.get(reason)
    elif status == "PROCESSING" and notice.acknowledged_at is None:
        action = ResponseAction.ACKNOWLEDGE
    else:
        action = None
    if action is None:
        return
    text = f"{report.get_channel_display()}: report {report.remote_id} {status} {reason}".rstrip()
    try:
        with transaction.atomic():
            record_response(
                notice=notice,
                action=action,
                now=now,
                url_ids=report.url_ids,
                message=text,
            )
    except NoticeError as exc:
        logger.info("channel report %s: %s not recorded as an answer (%s)", report.pk, status, exc.errors)
