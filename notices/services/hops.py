"""Acting on a hop: the content of a noticed case now answers from another provider or country (the trace
after a check saw a new address, provider or country: `url.hopped`, `HostingTrace.is_hop`).

`act_on_hop` (called after every trace that found a hop). The same provider still hosting the content (a new
address of its own, or another of its countries) keeps its notice: nothing is superseded and no second notice
goes out; a changed country is recorded instead (`record_country_change`). Another provider:
1. the old provider's open notice items for the URL are superseded (`supersede`: `superseded_at` and
   `superseded_reason` set, the item released) and the old notice is told why: a `url.superseded` event on
   the case and the notice, a mail through the outbox to the old provider's abuse contacts (its language;
   not to an API-only provider, which sees the item superseded in the portal and the API), and the signed
   webhook event `notice.superseded` to a provider with a webhook — the new provider is never named to the
   old one;
2. the case starts a new notice cycle: its first-notice fields are cleared, so the old provider's time is
   kept out of the statistics (it neither removed the content nor keeps it up) and the new provider's
   notice stamps them afresh;
3. the new provider gets a notice of the same type, queued at once; when one cannot be made (routing wants a
   hand-off, no working contact, a hold …) the analysts are alerted instead.

`record_country_change` (also used by the pre-send re-check, notices.services.presend): the case's hosting
country — its current trace's, which routing, the admin's queue filters and the ladder's hand-off step read —
now differs from the last one a trace knew. A `url.country_changed` event says so in words on the case's
timeline, and the analysts get a `country_changed` alert (one open per case): the country decides the
law-enforcement referral and the partner hotline's hand-off, which the ladder's step now takes to the new
country's hotline. The first-notice fields (`country_at_notice` …) are not touched: time-to-removal
statistics stay with the country at notice (a notice not sent yet stamps them with the country it finds).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q

from notices.delivery.compose import MailItem
from notices.delivery.escalation import superseded_mail
from notices.delivery.items import load_urls
from notices.delivery.outbox import abuse_recipients
from notices.enums import (
    HIDDEN_FROM_PROVIDER,
    AlertKind,
    ContactChannel,
    NoticeType,
    SupersededReason,
    UrlStatus,
)
from notices.errors import NoticeError
from notices.infra.events import new_event, record_events
from notices.models import (
    Event,
    HostingTrace,
    Notice,
    NoticeItem,
    OutgoingMessage,
    RemovalOrder,
    Url,
    WebhookDelivery,
    WebhookEndpoint,
)
from notices.services.alerts import raise_alert
from notices.services.notices import create_notices, queue_notice, release_items
from notices.services.urls import restart_cycle


def act_on_hop(*, url_id: int, now: datetime) -> Notice | None:
    """Supersede the old notice and notice the new provider (see the module docstring). Returns the new
    notice, or None when there is nothing to do or it could not be made (then the analysts are alerted)."""
    with transaction.atomic():
        url = Url.objects.select_for_update(of=("self",)).select_related("current_trace").get(pk=url_id)
        trace = url.current_trace
        if url.status != UrlStatus.NOTIFIED or trace is None or not trace.is_hop or trace.provider_id is None:
            return None
        items = list(NoticeItem.objects.filter(url=url, is_open=True).select_related("notice__provider"))
        old = [item for item in items if item.notice.provider_id != trace.provider_id]
        if not old:  # the same provider hosts it still: its notice stands
            if items:
                record_country_change(url, trace, now=now, notice=items[0].notice)
            return None
        _tell_old(url, [item.notice for item in old], now)
        supersede(old, reason=SupersededReason.HOP, now=now)
        notice_type = old[0].notice.notice_type
        if notice_type == NoticeType.REMOVAL_ORDER:  # an order is the authority's, for its addressee only
            notice_type = NoticeType.HOTLINE_NOTICE
        restart_cycle(url)
        try:
            with transaction.atomic():
                (notice,) = create_notices(urls=[url], notice_type=notice_type, now=now)
                notice = queue_notice(notice=notice, now=now)
        except NoticeError as exc:
            problems = "; ".join(m for messages in exc.errors.values() for m in messages)
            raise_alert(
                kind=AlertKind.DELIVERY_FAILED,
                key=f"hop:{url.pk}:{trace.pk}",
                summary=f"Case {url.pk} moved to another provider, which could not be noticed: {problems}",
                now=now,
                url=url,
                provider_id=trace.provider_id,
            )
            return None
        record_events(
            [
                new_event(
                    "url.renoticed",
                    at=now,
                    url=url,
                    notice=notice,
                    data={
                        "text": f"The content moved: notice {notice.reference} queued for its new provider."
                    },
                )
            ]
        )
        return notice


COUNTRY_EVENT = "url.country_changed"


def record_country_change(
    url: Url, trace: HostingTrace, *, now: datetime, notice: Notice | None = None
) -> bool:
    """Record that `trace` (the case's current trace, of the provider its notice went to) puts the content in
    another country than the last trace that knew one (see the module docstring). Returns whether it did:
    not when either country is unknown, they are the same, or this trace's change is recorded already."""
    new = trace.country
    previous = (
        HostingTrace.objects.filter(url_id=url.pk)
        .filter(Q(traced_at__lt=trace.traced_at) | Q(traced_at=trace.traced_at, pk__lt=trace.pk))
        .exclude(country="")
        .order_by("-traced_at", "-id")
        .values_list("country", flat=True)
        .first()
    )
    if not new or not previous or new == previous:
        return False
    if Event.objects.filter(url_id=url.pk, kind=COUNTRY_EVENT, data__trace=trace.pk).exists():
        return False
    provider = trace.provider.name if trace.provider_id else "an unknown provider"
    if url.first_notice_sent_at is None:
        counted = f"no notice has reached the provider yet, so the statistics will count the case in {new}"
    else:
        counted = (
            "time-to-removal statistics stay with the country at notice "
            f"({url.country_at_notice or 'unknown'})"
        )
    text = (
        f"Hosting country changed from {previous} to {new} (address {trace.ip}, still {provider}): the "
        f"notice to the same provider stands; routing and the partner hand-off go by {new} from now on; "
        f"{counted}."
    )
    data = {"from": previous, "to": new, "trace": trace.pk, "provider": trace.provider_id, "text": text}
    record_events([new_event(COUNTRY_EVENT, at=now, url=url, notice=notice, data=data)])
    raise_alert(
        kind=AlertKind.COUNTRY_CHANGED,
        key=f"{AlertKind.COUNTRY_CHANGED}:{url.pk}",
        summary=f"Case {url.pk}: hosting country changed from {previous} to {new} at {provider}; check the "
        "routing (law enforcement, partner hotline hand-off).",
        now=now,
        notice=notice,
        url=url,
        provider_id=trace.provider_id,
    )
    return True


def _tell_old(url: Url, notices: list[Notice], now: datetime) -> None:
    item = MailItem(url.pk, load_urls({url.pk})[url.pk])
    recipients = abuse_recipients(
        {n.provider_id for n in notices if n.provider.channel != ContactChannel.API_ONLY}
    )
    events = []
    for notice in notices:
        emails = recipients.get(notice.provider_id)
        told = ""
        if emails and notice.provider.channel != ContactChannel.API_ONLY:
            mail = superseded_mail(notice, items=[item], emails=emails, now=now)
            OutgoingMessage.objects.create(
                notice=notice,
                url_ids=[url.pk],
                message_id=mail.message_id,
                recipients=mail.recipients,
                subject=mail.subject,
                text=mail.text,
                html=mail.html or "",
                next_attempt_at=now,
                created_at=now,
            )
            told = f" {notice.provider} is told by mail ({', '.join(emails)})."
        text = (
            f"Notice {notice.reference} superseded for this case: the content answers from another network "
            f"now ({url.current_trace.ip}).{told}"
        )
        events += [
            new_event("url.superseded", at=now, url=url, data={"text": text}),
            new_event("notice.superseded", at=now, notice=notice, data={"text": text, "url": url.pk}),
        ]
    record_events(events)


def supersede(items: list[NoticeItem], *, reason: str, now: datetime) -> None:
    """These open items' notices stop asking their providers for the URLs: the content moved to another
    network (`reason`). Each item gets `superseded_at` and `superseded_reason` and is released (closed); a
    notice the provider has seen is offered to its webhook as `notice.superseded` (one delivery per item,
    through the crash-safe webhook sweep); a removal order whose URLs have all moved away stops its clock
    (`RemovalOrder.superseded_at`: no breach can be recorded against its addressee any more)."""
    if not items:
        return
    ids = [item.pk for item in items]
    NoticeItem.objects.filter(pk__in=ids, superseded_at=None).update(
        superseded_at=now, superseded_reason=reason
    )
    notices = {n.pk: n for n in Notice.objects.filter(pk__in={item.notice_id for item in items})}
    seen = [item for item in items if notices[item.notice_id].status not in HIDDEN_FROM_PROVIDER]
    endpoints = dict(
        WebhookEndpoint.objects.filter(
            provider_id__in={notices[item.notice_id].provider_id for item in seen}, is_active=True
        )
        .order_by("pk")
        .values_list("provider_id", "pk")
    )
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint_id=endpoints[notices[item.notice_id].provider_id],
                notice_id=item.notice_id,
                item_id=item.pk,
                next_attempt_at=now,
                created_at=now,
            )
            for item in seen
            if notices[item.notice_id].provider_id in endpoints
        ],
        ignore_conflicts=True,
    )
    release_items(ids, actor="system", now=now)
    _stop_orders(list(notices), now)


def _stop_orders(notice_ids: list[int], now: datetime) -> None:
    """The clocks of these notices' running orders whose every URL has moved away stop for good."""
    for order in RemovalOrder.objects.filter(
        notice_id__in=notice_ids, breached_at=None, removed_at=None, superseded_at=None
    ).select_for_update():
        if NoticeItem.objects.filter(notice_id=order.notice_id, superseded_at=None).exists():
            continue
        order.superseded_at, order.due_at = now, None
        order.save(update_fields=["superseded_at", "due_at"])
        text = (
            f"Removal order {order}: every URL moved to another network before its deadline; the clock "
            "stops and no breach is recorded against the addressee."
        )
        url_ids = NoticeItem.objects.filter(notice_id=order.notice_id).values_list("url_id", flat=True)
        data = {"order": order.pk, "text": text}
        record_events(
            [new_event("order.clock", at=now, notice=Notice(pk=order.notice_id), data=data)]
            + [new_event("order.clock", at=now, url=Url(pk=pk), data=data) for pk in url_ids]
        )
