"""Notices: create (one per provider), queue for delivery, mark sent, close."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from notices.enums import ContactChannel, ItemStatus, Legality, NoticeStatus, NoticeType, UrlStatus
from notices.models import Notice, NoticeItem, Url
from notices.services.events import actor_label, record_event

REFERENCE_SEQUENCE = "notices_notice_reference_seq"


class NoticeError(ValueError):
    """Field errors the caller shows as they are (`{"urls": ["…"]}`)."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


def next_reference(now: datetime) -> str:
    """`TN-YYYY-NNNNNN` from a database sequence: unique across workers, never reused."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT nextval('{REFERENCE_SEQUENCE}')")
        (number,) = cursor.fetchone()
    return f"TN-{now.year}-{number:06d}"


def deadline_for(notice_type: str, start: datetime) -> datetime:
    seconds = {
        NoticeType.HOTLINE_NOTICE: settings.DEADLINE_HOTLINE_NOTICE,
        NoticeType.TRUSTED_FLAGGER: settings.DEADLINE_TRUSTED_FLAGGER_NOTICE,
        NoticeType.REMOVAL_ORDER: settings.DEADLINE_REMOVAL_ORDER,
    }[notice_type]
    return start + timedelta(seconds=seconds)


def _url_problem(url: Url, open_pairs: set[tuple[int, int]], countries: set[str]) -> str | None:
    assessment = url.current_assessment
    if assessment is None or assessment.legality == Legality.NOT_ILLEGAL:
        return "is not assessed as illegal"
    if url.status not in {UrlStatus.ASSESSED, UrlStatus.NOTIFIED}:
        return f"has status {url.status}"
    if url.provider_id is None:
        return "has no hosting provider yet (trace it or set the provider)"
    if assessment.legality == Legality.ILLEGAL_NATIONAL and url.provider.country != settings.HOTLINE_COUNTRY:
        return "is illegal only nationally and is hosted abroad: no CSAM notice may go abroad"
    if (url.pk, url.provider_id) in open_pairs:
        return "is already in an open notice to this provider"
    from notices.services.routing import notice_blocker

    return notice_blocker(url, countries)


def create_notices(
    *, urls: list[Url], notice_type: str, now: datetime, created_by=None, deadline_at: datetime | None = None
) -> list[Notice]:
    """Create one draft notice per hosting provider for the given URLs.

    Raises NoticeError naming each URL that cannot go in a notice (nothing is written then). Writes
    `notice.created` per notice. `deadline_at` is required for removal orders (set per order).
    """
    if notice_type == NoticeType.REMOVAL_ORDER and deadline_at is None:
        raise NoticeError({"deadline_at": ["A removal order needs its own deadline."]})
    urls = list(
        Url.objects.filter(pk__in=[u.pk for u in urls]).select_related(
            "current_assessment", "provider", "current_trace"
        )
    )
    open_pairs = set(
        NoticeItem.objects.filter(url__in=urls, is_open=True).values_list("url_id", "provider_id_copy")
    )
    from notices.services.routing import handoff_countries

    countries = handoff_countries()
    problems = [f"URL {u.pk} {p}." for u in urls if (p := _url_problem(u, open_pairs, countries))]
    if problems:
        raise NoticeError({"urls": problems})
    by_provider: dict[int, list[Url]] = defaultdict(list)
    for url in urls:
        by_provider[url.provider_id].append(url)
    with transaction.atomic():
        return [
            _create_one(provider_urls, notice_type, now, created_by, deadline_at)
            for provider_urls in by_provider.values()
        ]


def _create_one(urls: list[Url], notice_type, now, created_by, deadline_at) -> Notice:
    provider = urls[0].provider
    notice = Notice.objects.create(
        reference=next_reference(now),
        provider=provider,
        notice_type=notice_type,
        language=provider.language,
        created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
        created_at=now,
        deadline_at=deadline_at,
    )
    NoticeItem.objects.bulk_create(
        [NoticeItem(notice=notice, url=u, provider_id_copy=provider.pk) for u in urls]
    )
    record_event(
        "notice.created",
        at=now,
        notice=notice,
        actor=actor_label(user=created_by),
        data={"urls": [u.pk for u in urls]},
    )
    return notice


def queue_notice(*, notice: Notice, now: datetime, actor: str = "system") -> Notice:
    """Queue a draft notice for delivery.

    Side effects: e-mail providers get an OutgoingMessage in the same transaction (the outbox; a task sends
    it after commit, beat retries); API-only providers have the notice made available at once, which counts
    as sent. Sets the deadline from now unless the notice carries its own. Writes `notice.queued`.
    """
    from notices.delivery.outbox import enqueue_notice_message

    with transaction.atomic():
        notice = Notice.objects.select_for_update(of=("self",)).select_related("provider").get(pk=notice.pk)
        if notice.status != NoticeStatus.DRAFT:
            raise NoticeError({"detail": [f"Notice {notice.reference} is already {notice.status}."]})
        notice.status = NoticeStatus.QUEUED
        notice.queued_at = now
        notice.deadline_at = notice.deadline_at or deadline_for(notice.notice_type, now)
        notice.save(update_fields=["status", "queued_at", "deadline_at"])
        record_event("notice.queued", at=now, notice=notice, actor=actor)
        if notice.provider.channel == ContactChannel.API_ONLY:
            mark_notice_sent(notice=notice, at=now)
        else:
            enqueue_notice_message(notice=notice, now=now)
    notice.refresh_from_db()
    return notice


def mark_notice_sent(*, notice: Notice, at: datetime) -> None:
    """The notice reached the provider (SMTP accepted it, or it was made available for API pickup).

    Side effects: stamps `sent_at` once; every URL in it gets its first-notice time and the provider, ASN and
    country it is counted against (if not already noticed), status `notified`, and an immediate first check.
    Writes `notice.sent`.
    """
    with transaction.atomic():
        updated = Notice.objects.filter(pk=notice.pk, sent_at__isnull=True).update(
            sent_at=at, status=NoticeStatus.SENT
        )
        if not updated:
            return
        urls = (
            Url.objects.select_for_update(of=("self",))
            .select_related("current_trace")
            .filter(notice_items__notice=notice)
        )
        for url in urls:
            _stamp_first_notice(url, notice, at)
        record_event("notice.sent", at=at, notice=notice)


def _stamp_first_notice(url: Url, notice: Notice, at: datetime) -> None:
    fields = ["status", "next_check_at"]
    if url.first_notice_sent_at is None:
        trace = url.current_trace
        url.first_notice_sent_at = at
        url.provider_at_notice_id = notice.provider_id
        url.asn_at_notice = trace.asn if trace else None
        url.country_at_notice = (trace.country if trace else "") or notice.provider.country
        url.notice_type_at_notice = notice.notice_type
        fields += ["first_notice_sent_at", "provider_at_notice", "asn_at_notice", "country_at_notice"]
        fields += ["notice_type_at_notice"]
    if url.status in {UrlStatus.ASSESSED, UrlStatus.NOTIFIED}:  # a removed URL stays removed
        from notices.services.escalation import first_escalation_at

        url.status = UrlStatus.NOTIFIED
        url.next_check_at = at
        url.next_escalation_at = url.next_escalation_at or first_escalation_at(notice.deadline_at)
        fields.append("next_escalation_at")
    url.save(update_fields=fields)
    record_event("url.notified", at=at, url=url, notice=notice)


def close_item_removed(*, url: Url, at: datetime) -> None:
    """Removal of `url` is confirmed: close its open notice items, and each notice whose URLs are all closed."""
    items = NoticeItem.objects.filter(url=url, is_open=True)
    notice_ids = list(items.values_list("notice_id", flat=True))
    items.update(status=ItemStatus.REMOVED, is_open=False, removed_at=at)
    for notice in Notice.objects.filter(pk__in=notice_ids):
        if not notice.items.filter(is_open=True).exists():
            Notice.objects.filter(pk=notice.pk).update(status=NoticeStatus.CLOSED, closed_at=at)
            record_event("notice.closed", at=at, notice=notice)
