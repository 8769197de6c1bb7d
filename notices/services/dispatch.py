"""Dispatch cycles: a provider's assessed URLs are batched into one notice per cycle, as the provider's
dispatch mode says (manual, at every sweep, every N minutes, or a daily digest in its time zone)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from notices.enums import DispatchMode, Legality, NoticeType, UrlStatus
from notices.infra.events import new_event, record_events
from notices.models import HostingProvider, Notice, NoticeItem, Url
from notices.selectors.exchange import held_link
from notices.services.batch.notices import create_notice_batches
from notices.services.holds import not_held
from notices.services.routing import handoff_countries, notice_blocker

logger = logging.getLogger(__name__)
DISPATCH_CHUNK = 500  # providers per transaction: bounds the locks held and the memory of one batch


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


def pending_urls(
    providers: list[HostingProvider], *, limit: int, now: datetime | None = None
) -> dict[int, list[Url]]:
    """Per provider id, up to `limit` assessed URLs (oldest first) of that provider that may go in a notice to
    it, are in no open notice to it and under no law-enforcement hold, in one query (with trace and provider
    loaded).

    Content illegal only nationally goes only to a provider in the hotline's own country; a case another
    hotline notifies this provider of is held (deconfliction: notices.selectors.exchange.held_link).
    """
    legal = Q(current_assessment__legality=Legality.ILLEGAL_INTERNATIONAL) | Q(
        current_assessment__legality=Legality.ILLEGAL_NATIONAL, provider__country=settings.HOTLINE_COUNTRY
    )
    open_item = NoticeItem.objects.filter(
        url=OuterRef("pk"), is_open=True, provider_id_copy=OuterRef("provider_id")
    )
    if settings.FOUR_EYES_VERIFICATION:  # a case waits for its verification (notices/services/casework.py)
        legal &= Q(current_assessment__verified_at__isnull=False)
    urls = (
        Url.objects.filter(legal, provider__in=providers, status=UrlStatus.ASSESSED)
        .exclude(Exists(open_item))
        .exclude(Exists(held_link()))
        .filter(not_held(now or timezone.now()))
        .annotate(rank=Window(RowNumber(), partition_by=F("provider_id"), order_by=F("pk").asc()))
        .filter(rank__lte=limit)
        .select_related("current_trace", "provider")
        .order_by("provider_id", "pk")
    )
    pending: dict[int, list[Url]] = {}
    for url in urls:
        pending.setdefault(url.provider_id, []).append(url)
    return pending


def dispatch_due(*, now: datetime, limit: int = 1000) -> list[Notice]:
    """Run every provider's dispatch cycle that is due: batch its pending URLs into one notice and queue it.

    Providers are taken `DISPATCH_CHUNK` at a time, locked with SKIP LOCKED (so sweeps never overlap), and
    their notices made in one `create_notice_batches` call per chunk. Side effects per provider:
    `last_dispatch_at` stamped (whether or not anything was pending); a notice created and queued (outbox) for
    up to `limit` URLs; if the notice cannot be made or sent (e.g. no working abuse contact), nothing is
    written for that provider but a `dispatch.failed` event the analysts see, and the URLs stay pending for
    the next cycle."""
    sent = []
    ids = list(
        HostingProvider.objects.exclude(dispatch=DispatchMode.MANUAL)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(ids), DISPATCH_CHUNK):
        with transaction.atomic():
            locked = HostingProvider.objects.select_for_update(skip_locked=True).filter(
                pk__in=ids[start : start + DISPATCH_CHUNK]
            )
            sent += dispatch_providers(
                [p for p in locked.order_by("pk") if cycle_due(p, now=now)], now=now, limit=limit
            )
    return sent


def dispatch_providers(providers: list[HostingProvider], *, now: datetime, limit: int) -> list[Notice]:
    """One dispatch cycle for these providers (locked by the caller): see `dispatch_due`."""
    HostingProvider.objects.filter(pk__in=[p.pk for p in providers]).update(last_dispatch_at=now)
    countries = handoff_countries()
    batches = []
    for urls in pending_urls(providers, limit=limit, now=now).values():
        # Cases for law enforcement or a partner hotline are routed elsewhere, not noticed here.
        if urls := [url for url in urls if notice_blocker(url, countries) is None]:
            batches.append(urls)
    made = create_notice_batches(
        batches=batches,
        notice_type=NoticeType.HOTLINE_NOTICE,
        now=now,
        queue_as="dispatch",
    )
    failures = []
    for index, errors in made.errors.items():
        slug = batches[index][0].provider.slug
        logger.warning("dispatch to %s failed: %s", slug, errors)
        failures.append(new_event("dispatch.failed", at=now, data={"provider": slug, "errors": errors}))
    record_events(failures)
    return made.notices
