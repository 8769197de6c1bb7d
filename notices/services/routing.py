"""Routing a case (PRODUCT.md "The flow"): hosted in the hotline's own country → law enforcement first, then a
notice; hosted in a country with a partner hotline → hand-off to that hotline (recorded, and still measured);
otherwise a notice straight to the provider."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction

from notices.delivery.escalation import handoff_case_mail
from notices.delivery.outbox import enqueue_handoff_mail
from notices.enums import UrlStatus
from notices.errors import NoticeError
from notices.infra.events import actor_label, record_event
from notices.models import Partner, Url
from notices.selectors.routing import handoff_countries, handoff_partner
from notices.selectors.stats import refresh_after_commit
from notices.services.exchange import record_handoff
from notices.services.holds import refuse_held
from notices.services.partner_webhooks import Event as CaseEvent
from notices.services.partner_webhooks import queue_case_event
from notices.services.urls import stamp_first_notice

ROUTE_LAW_ENFORCEMENT = "law_enforcement"
ROUTE_HANDOFF = "handoff"
ROUTE_PROVIDER = "provider"


def hosting_country(url: Url) -> str:
    trace = url.current_trace
    return (trace.country if trace and trace.country else "") or (
        url.provider.country if url.provider else ""
    )


def route_for(url: Url, countries: set[str] | None = None) -> str:
    """Where this case goes next: law enforcement, a partner hotline, or the provider. Pass `countries`
    (handoff_countries()) when routing many URLs."""
    country = hosting_country(url)
    if country == settings.HOTLINE_COUNTRY and settings.LAW_ENFORCEMENT_FIRST and url.le_referred_at is None:
        return ROUTE_LAW_ENFORCEMENT
    countries = handoff_countries() if countries is None else countries
    if country != settings.HOTLINE_COUNTRY and country in countries:
        return ROUTE_HANDOFF
    return ROUTE_PROVIDER


def notice_blocker(url: Url, countries: set[str] | None = None) -> str | None:
    """Why routing forbids a notice to the provider now (None when a notice is the next step)."""
    route = route_for(url, countries)
    if route == ROUTE_LAW_ENFORCEMENT:
        return "is hosted in the hotline's own country: refer it to law enforcement first"
    if route == ROUTE_HANDOFF:
        partner = handoff_partner(hosting_country(url))
        return f"is hosted in {hosting_country(url)}, where {partner} takes hand-offs: hand it off instead"
    return None


def refer_to_law_enforcement(*, url: Url, now: datetime, user=None, reference: str = "") -> Url:
    """Record that the case went to law enforcement (own-country hosting); a notice may follow.

    Side effects: stamps `le_referred_at` once; writes `url.le_referred` (with the agency's reference if
    given).
    """
    with transaction.atomic():
        url = Url.objects.select_for_update().get(pk=url.pk)
        if url.le_referred_at is None:
            url.le_referred_at = now
            url.save(update_fields=["le_referred_at"])
        record_event(
            "url.le_referred", at=now, url=url, actor=actor_label(user=user), data={"reference": reference}
        )
    return url


def hand_off(*, url: Url, partner: Partner, now: datetime, user=None) -> Url:
    """Hand the case to the partner hotline of its hosting country. The hand-off time counts as the first
    notice sent (INTERFACES.md), so the case is still checked and its time to removal measured.

    Side effects: the hand-off mail to the partner's hand-off address, in its language, through the outbox
    (with the CSV of the exact URL; `url.handoff_delivered` when the mail server takes it, alerting the
    analysts if it cannot be delivered); `handed_off_to`, first-notice fields (provider, ASN, country at that
    time), status `notified`, an immediate first check, a `url.handed_off` event, and the hand-off record
    with the case's exchange package (notices.services.exchange.record_handoff: a `handed_off_to` link).
    Raises NoticeError if the case is not assessed illegal and awaiting its notice, under a law-enforcement
    hold, or the partner takes no hand-offs or has no hand-off address.
    """
    if not partner.receives_handoffs:
        raise NoticeError({"partner": [f"{partner} takes no hand-offs."]})
    if not partner.handoff_email:
        raise NoticeError({"partner": [f"{partner} has no hand-off address on its record."]})
    refuse_held([url.pk], now=now)
    with transaction.atomic():
        url = Url.objects.select_for_update(of=("self",)).select_related("current_trace").get(pk=url.pk)
        if url.status != UrlStatus.ASSESSED:
            raise NoticeError(
                {"urls": [f"URL {url.pk} has status {url.status}; only assessed cases are handed off."]}
            )
        trace = url.current_trace
        url.handed_off_to = partner
        stamp_first_notice(
            url,
            provider_id=url.provider_id,
            asn=trace.asn if trace else None,
            country=hosting_country(url),
            notice_type="handoff",
            deadline_at=None,
            at=now,
        )
        url.save()
        queue_case_event(event=CaseEvent.NOTICED, url_ids=[url.pk], at=now)
        refresh_after_commit()  # a new case in the time-to-removal statistics
        mail = handoff_case_mail([url], partner=partner, country=hosting_country(url), now=now)
        message = enqueue_handoff_mail(mail, partner_id=partner.pk, url_ids=[url.pk], now=now)
        record_event(
            "url.handed_off",
            at=now,
            url=url,
            actor=actor_label(user=user),
            data={"partner": partner.name, "to": partner.handoff_email, "message": message.pk},
        )
        record_handoff(url=url, partner=partner, now=now, user=user)  # the package the hand-off carries
    return url
