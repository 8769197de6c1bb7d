"""Dispatch cycles: a provider's assessed URLs are batched into one notice per cycle, as the provider's
dispatch mode says (manual, at every sweep, every N minutes, or a daily digest in its time zone)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from notices.enums import DispatchMode, Legality, NoticeType, UrlStatus
from notices.models import HostingProvider, Notice, Url
from notices.services.events import record_event
from notices.services.notices import NoticeError, create_notices, queue_notice

logger = logging.getLogger(__name__)


def cycle_due(provider: HostingProvider, *, now: datetime) -> bool:
    """Whether the provider's dispatch cycle has come round."""
    last = provider.last_dispatch_at
    if provider.dispatch == DispatchMode.IMMEDIATE:
        return True
    if provider.dispatch == DispatchMode.INTERVAL:
        return last is None or now - last >= timedelta(minutes=provider.dispatch_interval)
    if provider.dispatch == DispatchMode.DIGEST:
        local = now.astimezone(ZoneInfo(provider.time_zone or "UTC"))
        digest = local.replace(hour=provider.dispatch_hour, minute=0, second=0, microsecond=0)
        if local < digest:
            digest -= timedelta(days=1)
        return last is None or last < digest
    return False


def pending_urls(provider: HostingProvider) -> QuerySet[Url]:
    """Assessed URLs of this provider that may go in a notice to it and are in no open notice to it.

    Content illegal only nationally goes only to a provider in the hotline's own country.
    """
    legal = [Legality.ILLEGAL_INTERNATIONAL]
    if provider.country == settings.HOTLINE_COUNTRY:
        legal.append(Legality.ILLEGAL_NATIONAL)
    return (
        Url.objects.filter(
            provider=provider, status=UrlStatus.ASSESSED, current_assessment__legality__in=legal
        )
        .exclude(notice_items__is_open=True, notice_items__provider_id_copy=provider.pk)
        .order_by("pk")
    )


def dispatch_due(*, now: datetime, limit: int = 1000) -> list[Notice]:
    """Run every provider's dispatch cycle that is due: batch its pending URLs into one notice and queue it.

    Side effects per provider: `last_dispatch_at` stamped (whether or not anything was pending); a notice created
    and queued (outbox) for up to `limit` URLs; if the notice cannot be made or sent (e.g. no working abuse
    contact), nothing is written for that provider but a `dispatch.failed` event the analysts see, and the
    URLs stay pending for the next cycle. Providers are locked with SKIP LOCKED, so sweeps never overlap.
    """
    sent = []
    for provider_id in HostingProvider.objects.exclude(dispatch=DispatchMode.MANUAL).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            provider = (
                HostingProvider.objects.select_for_update(skip_locked=True).filter(pk=provider_id).first()
            )
            if provider is None or not cycle_due(provider, now=now):
                continue
            sent += _dispatch_one(provider, now=now, limit=limit)
    return sent


def _dispatch_one(provider: HostingProvider, *, now: datetime, limit: int) -> list[Notice]:
    from notices.services.routing import handoff_countries, notice_blocker

    HostingProvider.objects.filter(pk=provider.pk).update(last_dispatch_at=now)
    candidates = pending_urls(provider).select_related("current_trace", "provider")[:limit]
    countries = handoff_countries()
    # Cases for law enforcement or a partner hotline are routed elsewhere, not noticed here.
    urls = [url for url in candidates if notice_blocker(url, countries) is None]
    if not urls:
        return []
    try:
        with transaction.atomic():
            notices = create_notices(urls=urls, notice_type=NoticeType.HOTLINE_NOTICE, now=now)
            return [queue_notice(notice=notice, now=now, actor="dispatch") for notice in notices]
    except NoticeError as exc:
        logger.warning("dispatch to %s failed: %s", provider.slug, exc.errors)
        record_event("dispatch.failed", at=now, data={"provider": provider.slug, "errors": exc.errors})
        return []
