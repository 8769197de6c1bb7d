"""The pre-send re-check: just before a notice mail goes out (its first delivery attempt, while nothing of it
is stored yet), each of its URLs' hosts is resolved again through the resolver the tracer uses
(DNS_RESOLVER). A URL whose answer shares an address with its current trace is where it was. One whose answer
shares none is traced again (`trace_url`, the tracer's own lookup: the new trace becomes the case's current
one), and the provider that trace finds decides:
- the notice's provider (addresses rotating within one provider, a load balancer, a CDN of its own): the URL
  stays in the notice — nothing superseded, no second notice; a changed country is recorded on the case and
  alerted (`notices.services.hops.record_country_change`);
- no provider (an address no data covers, a CDN in front): proves no move, the URL stays;
- another provider: the URL has moved. It is taken out of this notice (its item superseded —
  `notices.services.hops.supersede`, reason `moved_before_send`) and noticed to that provider (the analysts
  are alerted when that notice cannot be made).
When a URL was traced again the mail is rendered again for the URLs that stay (so it names the addresses the
host answers from now), or called off when none does. A DNS answer with no address (an error, NXDOMAIN)
proves nothing and moves nothing. Off with PRESEND_RECHECK=false."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction

from notices.delivery.compose import render_notice_mails
from notices.delivery.items import notice_mail_items
from notices.enums import AlertKind, OutboxStatus, SupersededReason
from notices.errors import NoticeError
from notices.hosting.dns import resolve_host
from notices.hosting.tracer import trace_url
from notices.infra.events import new_event, record_events
from notices.models import HostingTrace, OutgoingMessage, Url
from notices.services.alerts import raise_alert
from notices.services.hops import record_country_change, supersede
from notices.services.notices import create_notices, queue_notice


def retrace_moved(message: OutgoingMessage, *, now: datetime) -> tuple[dict[int, HostingTrace], bool]:
    """Steps of the module docstring for one notice mail: (the URLs that moved to another provider → their
    new trace, whether any URL was traced again)."""
    notice = message.notice
    moved, retraced = {}, False
    for url in Url.objects.filter(pk__in=notice.items.filter(is_open=True).values("url_id")).select_related(
        "current_trace"
    ):
        trace = url.current_trace
        if trace is None or not trace.ips:
            continue
        answer = resolve_host(url.host)
        if not answer.ips or set(answer.ips) & set(trace.ips):
            continue
        new = trace_url(url=url, now=now)
        retraced = True
        if new.provider_id is not None and new.provider_id != notice.provider_id:
            moved[url.pk] = new
        elif new.provider_id is not None:
            record_country_change(url, new, now=now, notice=notice)
    return dict(sorted(moved.items())), retraced


def recheck_before_send(message_id: int, *, now: datetime) -> list[int]:
    """Re-check a claimed notice mail before its first attempt (see the module docstring); returns the URLs
    routed elsewhere."""
    message = OutgoingMessage.objects.select_related("notice__provider").get(pk=message_id)
    if (
        not settings.PRESEND_RECHECK
        or message.notice is None
        or message.run_id is not None
        or message.mime is not None
        or message.status != OutboxStatus.SENDING
    ):
        return []
    moved, retraced = retrace_moved(message, now=now)
    if not retraced:
        return []
    notice = message.notice
    with transaction.atomic():
        items = notice.items.filter(url_id__in=list(moved), is_open=True)
        staying = [
            pk for pk in notice.items.filter(is_open=True).values_list("url_id", flat=True) if pk not in moved
        ]
        record_events(
            [
                new_event(
                    "url.moved_before_send",
                    at=now,
                    url=Url(pk=pk),
                    notice=notice,
                    data={
                        "text": f"Re-checked just before notice {notice.reference} went out: the host "
                        f"answers from another provider's addresses now ({trace.ip}); routed to its new "
                        "provider instead."
                    },
                )
                for pk, trace in moved.items()
            ]
        )
        if staying:
            (mail,) = render_notice_mails(
                [notice],
                now=message.created_at,
                recipients={notice.provider_id: message.recipients},
                items={notice.pk: notice_mail_items(notice, url_ids=staying)},
            )
            OutgoingMessage.objects.filter(pk=message.pk).update(
                url_ids=staying, subject=mail.subject, text=mail.text, html=mail.html or ""
            )
        else:
            OutgoingMessage.objects.filter(pk=message.pk).update(
                status=OutboxStatus.CANCELLED,
                claimed_until=None,
                next_attempt_at=None,
                last_error="cancelled: every URL moved before sending",
            )
        supersede(list(items), reason=SupersededReason.MOVED_BEFORE_SEND, now=now)
    for pk, trace in moved.items():
        _route_anew(Url.objects.get(pk=pk), trace, notice.notice_type, now)
    return list(moved)


def _route_anew(url: Url, trace: HostingTrace, notice_type: str, now: datetime) -> None:
    try:
        with transaction.atomic():
            (notice,) = create_notices(urls=[url], notice_type=notice_type, now=now)
            queue_notice(notice=notice, now=now)
    except NoticeError as exc:
        problems = "; ".join(m for messages in exc.errors.values() for m in messages)
        raise_alert(
            kind=AlertKind.DELIVERY_FAILED,
            key=f"presend:{url.pk}:{trace.pk}",
            summary=f"Case {url.pk} moved before its notice went out; no new notice: {problems}",
            now=now,
            url=url,
            provider_id=trace.provider_id,
        )
