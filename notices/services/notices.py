"""Notices: create (one per provider), queue for delivery, mark sent, close, withdraw."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from notices.delivery.items import BatchUrl, load_urls
from notices.delivery.outbox import (
    abuse_recipients,
    cancel_messages,
    enqueue_channel_messages,
    enqueue_notice_messages,
    no_contact_error,
    plan_messages,
)
from notices.enums import (
    API_CHANNELS,
    NOTICE_TRANSITIONS,
    ContactChannel,
    ItemStatus,
    Legality,
    NoticeStatus,
    NoticeType,
    PartnerRole,
    UrlStatus,
    WithdrawReason,
)
from notices.errors import NoticeError
from notices.infra.bulk import array_literal, field_defaults, new_instance
from notices.infra.events import actor_label, new_event, record_event, record_events
from notices.infra.write_behind import WriteBehind, allocate_ids
from notices.models import HostingTrace, Notice, NoticeItem, Url
from notices.selectors.exchange import held_urls
from notices.selectors.stats import refresh_after_commit
from notices.services.casework import unverified_cases, unverified_error
from notices.services.holds import held_ids, refuse_held
from notices.services.orders import received_many
from notices.services.partner_webhooks import Event as CaseEvent
from notices.services.partner_webhooks import queue_case_event
from notices.services.routing import handoff_countries, notice_blocker
from notices.services.urls import (
    STAMP_FIELDS,
    UrlStamp,
    mark_acknowledged,
    stamp_first_notice,
    stop_escalation,
    write_stamps,
)

REFERENCE_SEQUENCE = "notices_notice_reference_seq"


def next_reference(now: datetime) -> str:
    """`TN-YYYY-NNNNNN` from a database sequence: unique across workers, never reused."""
    return next_references(now, 1)[0]


def next_references(now: datetime, count: int) -> list[str]:
    """`count` references from the sequence in one query, in ascending order."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT nextval('{REFERENCE_SEQUENCE}') FROM generate_series(1, %s)", [count])
        numbers = sorted(number for (number,) in cursor.fetchall())
    return [f"TN-{now.year}-{number:06d}" for number in numbers]


def deadline_for(notice_type: str, start: datetime) -> datetime:
    seconds = {
        NoticeType.HOTLINE_NOTICE: settings.DEADLINE_HOTLINE_NOTICE,
        NoticeType.TRUSTED_FLAGGER: settings.DEADLINE_TRUSTED_FLAGGER_NOTICE,
        NoticeType.REMOVAL_ORDER: settings.DEADLINE_REMOVAL_ORDER,
    }[notice_type]
    return start + timedelta(seconds=seconds)


def _url_problem(url: BatchUrl, open_pairs: set[tuple[int, int]], countries: set[str]) -> str | None:
    assessment = url.current_assessment
    if assessment is None or assessment.legality == Legality.NOT_ILLEGAL:
        return "is not assessed as illegal"
    if url.status not in NOTICEABLE:
        return f"has status {url.status}"
    provider = url.provider
    if provider is None:
        return "has no hosting provider yet (trace it or set the provider)"
    home = settings.HOTLINE_COUNTRY
    if assessment.legality == Legality.ILLEGAL_NATIONAL and provider.country != home:
        return "is illegal only nationally and is hosted abroad: no CSAM notice may go abroad"
    if (url.pk, url.provider_id) in open_pairs:
        return "is already in an open notice to this provider"
    trace = url.current_trace
    country = (trace.country if trace is not None and trace.country else "") or provider.country
    if country != home and country not in countries:
        return None  # routing's plain case, the provider (`route_for`), decided without calling it
    return notice_blocker(url, countries)


NOTICEABLE = frozenset({UrlStatus.ASSESSED, UrlStatus.NOTIFIED})


def create_notices(
    *, urls: list[Url], notice_type: str, now: datetime, created_by=None, deadline_at: datetime | None = None
) -> list[Notice]:
    """Create one draft notice per hosting provider for the given URLs, in one transaction (plain ORM: the
    admin, the API, a notice at a time; dispatch cycles use `notices.services.batch`).

    Raises NoticeError naming each URL that cannot go in a notice (nothing is written then). Writes
    `notice.created` per notice. `deadline_at` is required for removal orders (set per order).
    """
    check_deadline(notice_type, deadline_at)
    user = created_by if getattr(created_by, "is_authenticated", False) else None
    actor = actor_label(user=created_by)
    with transaction.atomic():
        errors: dict[int, dict[str, list[str]]] = {}
        groups = valid_groups([urls], errors, now=now)
        if errors:
            raise NoticeError(errors[0])
        notices = []
        for per_provider in (urls for _index, group in groups for urls in group):
            provider = per_provider[0].provider
            notice = Notice.objects.create(
                reference=next_reference(now),
                provider=provider,
                notice_type=notice_type,
                language=provider.language,
                created_by=user,
                created_at=now,
                status=NoticeStatus.DRAFT,
                deadline_at=deadline_at,
            )
            NoticeItem.objects.bulk_create(
                NoticeItem(notice=notice, url_id=url.pk, provider_id_copy=provider.pk, status=ItemStatus.OPEN)
                for url in sorted(per_provider, key=lambda u: u.pk)
            )
            record_event(
                "notice.created",
                at=now,
                notice=notice,
                actor=actor,
                data={"urls": [url.pk for url in per_provider]},
            )
            notices.append(notice)
    return notices


def check_deadline(notice_type: str, deadline_at: datetime | None) -> None:
    if notice_type == NoticeType.REMOVAL_ORDER and deadline_at is None:
        raise NoticeError({"deadline_at": ["A removal order needs its own deadline."]})


def outbox_plan(notices: list[Notice]):
    return plan_messages([n for n in notices if n.provider.channel == ContactChannel.EMAIL])


def _open_pairs(url_ids: set[int]) -> set[tuple[int, int]]:
    """(URL, provider) of the open notice items of these URLs."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT url_id, provider_id_copy FROM {NoticeItem._meta.db_table}
                WHERE url_id = ANY(%s) AND is_open""",
            [list(url_ids)],
        )
        return set(cursor.fetchall())


def held_problem(link) -> str | None:
    """Deconfliction: why our notice would be the second one to the provider (None when it would not)."""
    if link is None:
        return None
    their = f" (their reference {link.partner_reference})" if link.partner_reference else ""
    how = "was handed off to" if link.role == PartnerRole.HANDED_OFF_TO else "was received from"
    return f"{how} {link.partner}{their}, who notifies this provider: our notice is held, not sent twice"


def valid_groups(
    batches, errors: dict, *, now: datetime | None = None
) -> list[tuple[int, list[list[BatchUrl]]]]:
    """Each batch's URLs split per provider (in the batch's order), once every URL passes `_url_problem` and
    is under no law-enforcement hold at `now`; the problems of a failing batch go to `errors`."""
    batches = [[getattr(url, "pk", url) for url in batch] for batch in batches]
    wanted = {pk for batch in batches for pk in batch}
    loaded = load_urls(wanted)
    open_pairs = _open_pairs(wanted)
    countries = handoff_countries()
    linked = held_urls(wanted)  # deconfliction: another hotline notifies the provider
    held = held_ids(wanted, now=now or timezone.now())  # law-enforcement holds
    groups = []
    for index, batch in enumerate(batches):
        urls = [loaded[pk] for pk in dict.fromkeys(batch) if pk in loaded]
        problems = [
            f"URL {u.pk} {p}."
            for u in urls
            if (p := held_problem(linked.get(u.pk)) or _url_problem(u, open_pairs, countries))
        ]
        problems += [
            f"URL {u.pk} is under a law-enforcement hold: nothing is sent for it."
            for u in urls
            if u.pk in held
        ]
        if problems:
            errors[index] = {"urls": problems}
            continue
        open_pairs.update((u.pk, u.provider_id) for u in urls)  # a later batch may not name them again
        by_provider: dict[int, list[BatchUrl]] = defaultdict(list)
        for url in urls:
            by_provider[url.provider_id].append(url)
        groups.append((index, list(by_provider.values())))
    return groups


def recipients_or_errors(providers: list[tuple[int, list]], errors: dict) -> dict[int, list[str]]:
    """The abuse addresses of the e-mail providers of each (batch index, providers); a batch naming an e-mail
    provider without any gets its error in `errors`."""
    by_mail = {p.pk for _index, group in providers for p in group if p.channel == ContactChannel.EMAIL}
    recipients = abuse_recipients(by_mail)
    for index, group in providers:
        missing = [p for p in group if p.pk in by_mail and p.pk not in recipients]
        if missing:
            errors[index] = no_contact_error(missing[0])
    return recipients


def new_notices(per_notice, notice_type, now, created_by, deadline_at, *, queued: str | None) -> list[Notice]:
    """A notice (queued at once when `queued`) for each list of URLs, with its id and reference allocated."""
    user = created_by if getattr(created_by, "is_authenticated", False) else None
    references = next_references(now, len(per_notice))
    status, queued_at = (NoticeStatus.QUEUED, now) if queued else (NoticeStatus.DRAFT, None)
    deadline_at = deadline_at or (deadline_for(notice_type, now) if queued else None)
    defaults, alias = field_defaults(Notice), connection.alias
    return [
        new_instance(
            Notice,
            alias,
            {
                "id": pk,
                "reference": reference,
                "provider_id": urls[0].provider_id,
                "notice_type": notice_type,
                "language": urls[0].provider.language,
                "created_by_id": user and user.pk,
                "created_at": now,
                "status": status,
                "queued_at": queued_at,
                "deadline_at": deadline_at,
            },
            defaults=defaults,
            related={"provider": urls[0].provider, "created_by": user},
        )
        for pk, reference, urls in zip(
            allocate_ids(Notice, len(per_notice)), references, per_notice, strict=True
        )
    ]


def insert_notices(notices: list[Notice], writes: WriteBehind) -> None:
    """The new notices (ids allocated, made saved by `new_notices`) in one INSERT from array literals, queued
    on the batch's write-behind (bulk_create's per-value preparation of thousands of notices cost more than
    the SQL)."""
    writes.execute(
        f"""INSERT INTO {Notice._meta.db_table} ({", ".join(NOTICE_COLUMNS)})
            SELECT * FROM unnest({", ".join(f"%s::{kind}[]" for kind in NOTICE_COLUMNS.values())})""",
        [array_literal(kind, [getattr(n, name) for n in notices]) for name, kind in NOTICE_COLUMNS.items()],
    )


NOTICE_COLUMNS = {
    "id": "bigint", "reference": "text", "provider_id": "bigint", "notice_type": "text", "status": "text",
    "language": "text", "deadline_at": "timestamptz", "created_by_id": "int", "created_at": "timestamptz",
    "queued_at": "timestamptz", "provider_ticket": "text",
}  # fmt: skip


def queue_notice(*, notice: Notice, now: datetime, actor: str = "system") -> Notice:
    """Queue a draft notice for delivery (see `queue_notices`)."""
    (notice,) = queue_notices(notices=[notice], now=now, actor=actor)
    notice.refresh_from_db()
    return notice


def queue_notices(*, notices: Sequence[Notice], now: datetime, actor: str = "system") -> list[Notice]:
    """Queue draft notices for delivery, all or none.

    Side effects: e-mail providers get an OutgoingMessage in the same transaction (the outbox; a task sends
    it after commit, beat retries), and so do providers whose channel is an abuse API (Cloudflare, AWS, the
    webhook: the channel files it; sent when the provider accepts it); API-only providers have the notice
    made available at once, which counts as sent. Sets the deadline from now unless the notice carries its
    own. Writes `notice.queued`. Raises NoticeError when a notice is not a draft or its provider has no
    working abuse contact.
    """
    with transaction.atomic():
        locked = list(
            Notice.objects.select_for_update(of=("self",))
            .select_related("provider")
            .filter(pk__in=[n.pk for n in notices])
            .order_by("pk")
        )
        for notice in locked:
            if notice.status != NoticeStatus.DRAFT:
                raise NoticeError({"detail": [f"Notice {notice.reference} is already {notice.status}."]})
        named = list(NoticeItem.objects.filter(notice__in=locked).values_list("url_id", flat=True))
        refuse_held(named, now=now)
        if unverified := unverified_cases(named):
            raise NoticeError(unverified_error(unverified))
        recipients = recipients_or_errors([(0, [n.provider for n in locked])], errors := {})
        if errors:
            raise NoticeError(errors[0])
        for notice in locked:
            notice.status, notice.queued_at = NoticeStatus.QUEUED, now
            notice.deadline_at = notice.deadline_at or deadline_for(notice.notice_type, now)
        Notice.objects.bulk_update(locked, ["status", "queued_at", "deadline_at"])
        items: dict[int, list[NoticeItem]] = defaultdict(list)
        for item in (
            NoticeItem.objects.filter(notice__in=locked)
            .select_related("url__current_assessment", "url__current_trace")
            .order_by("url_id")
        ):
            items[item.notice_id].append(item)
        queue_written(locked, items, now=now, actor=actor, recipients=recipients)
    return locked


def queue_written(
    notices,
    items,
    *,
    now: datetime,
    actor: str,
    recipients: dict[int, list[str]],
    writes: WriteBehind | None = None,
    plan=None,
) -> None:
    """Queued notices (status and deadline written): events, then the outbox (`plan`: see `plan_messages`),
    then API pickup."""
    record_events(
        [new_event("notice.queued", at=now, notice=notice, actor=actor) for notice in notices], writes=writes
    )
    by_mail = [n for n in notices if n.provider.channel == ContactChannel.EMAIL]
    if by_mail:
        enqueue_notice_messages(
            notices=by_mail, now=now, recipients=recipients, items=items, writes=writes, plan=plan
        )
    by_api = [n for n in notices if n.provider.channel in API_CHANNELS]
    if by_api:
        if writes is not None:
            writes.wait()  # the channel messages name notices the write-behind may still be inserting
        enqueue_channel_messages(by_api, now=now)
    api_only = [n for n in notices if n.provider.channel == ContactChannel.API_ONLY]
    if api_only:
        if writes is not None:
            writes.wait()  # marking them sent reads their items
        mark_notices_sent(notices=api_only, at=now)


def mark_notice_sent(*, notice: Notice, at: datetime) -> None:
    """The notice reached the provider (see `mark_notices_sent`)."""
    mark_notices_sent(notices=[notice], at=at)


def set_notice_status(notice: Notice, status: NoticeStatus) -> None:
    """Move a notice (a locked instance the caller saves) to `status` by the transition table."""
    if status not in NOTICE_TRANSITIONS[notice.status]:
        raise ValueError(f"notice {notice.reference}: no transition {notice.status} → {status}")
    notice.status = status


def acknowledge(notice: Notice, *, at: datetime) -> None:
    """A locked notice got its first answer (the caller saves it): acknowledged then, a sent notice becomes
    acknowledged, and so do its URLs (`urls.mark_acknowledged`). Later answers change nothing here."""
    if notice.acknowledged_at is None:
        notice.acknowledged_at = at
        mark_acknowledged(list(notice.items.values_list("url_id", flat=True)), at=at)
    if notice.status == NoticeStatus.SENT:
        set_notice_status(notice, NoticeStatus.ACKNOWLEDGED)


def items_reported_removed(items: Sequence[NoticeItem], *, at: datetime) -> None:
    """The provider says these items' URLs are removed: open ones become `reported_removed` (the checker, not
    the provider, confirms removal)."""
    NoticeItem.objects.filter(pk__in=[item.pk for item in items if item.is_open]).update(
        status=ItemStatus.REPORTED_REMOVED, reported_removed_at=at
    )


def dispute(notice: Notice, items: Sequence[NoticeItem]) -> None:
    """The provider disputes these items (not its customer, refused): they and the locked notice (the caller
    saves it) become disputed, back in the analysts' queue."""
    NoticeItem.objects.filter(pk__in=[item.pk for item in items if item.is_open]).update(
        status=ItemStatus.DISPUTED
    )
    set_notice_status(notice, NoticeStatus.DISPUTED)


def mark_notice_failed(*, notice: Notice, at: datetime) -> None:
    """The notice's mail was given up on (permanent refusal, or its attempts used up). A withdrawn notice
    stays withdrawn."""
    Notice.objects.filter(pk=notice.pk).exclude(status=NoticeStatus.WITHDRAWN).update(
        status=NoticeStatus.FAILED
    )


def mark_notices_sent(*, notices: Sequence[Notice], at: datetime) -> None:
    """The notices reached their providers (SMTP accepted them, or they were made available for API pickup).

    Side effects: stamps `sent_at` once per notice; every URL in them gets its first-notice time and the
    provider, ASN and country it is counted against (if not already noticed), status `notified`, and an
    immediate first check. Writes `url.notified` per URL and notice and `notice.sent` per notice. A fixed
    number of queries, however many notices.

    A notice withdrawn while its mail was on the wire (the withdrawal waited for that send) keeps its status
    and notifies none of its URLs; its `sent_at` says the provider has it, so the portal shows it withdrawn. A
    case closed meanwhile is not stamped either."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {Notice._meta.db_table} SET sent_at = %s,
                    status = CASE WHEN status = %s THEN status ELSE %s END
                WHERE id = ANY(%s) AND sent_at IS NULL RETURNING id, status""",
            [at, NoticeStatus.WITHDRAWN, NoticeStatus.SENT, [n.pk for n in notices]],
        )
        rows = cursor.fetchall()
        withdrawn = [notice_id for notice_id, status in rows if status == NoticeStatus.WITHDRAWN]
        record_events([new_event("notice.sent", at=at, notice=Notice(pk=pk)) for pk in withdrawn])
        sent = {notice_id for notice_id, status in rows if status != NoticeStatus.WITHDRAWN}
        if not sent:
            return
        notices = {n.pk: n for n in Notice.objects.select_related("provider").filter(pk__in=sent)}
        cursor.execute(
            f"""SELECT i.notice_id, u.id, {", ".join(f"u.{name}" for name in STAMP_FIELDS)}, t.asn, t.country
                FROM {NoticeItem._meta.db_table} AS i
                JOIN {Url._meta.db_table} AS u ON u.id = i.url_id
                LEFT JOIN {HostingTrace._meta.db_table} AS t ON t.id = u.current_trace_id
                WHERE i.notice_id = ANY(%s) ORDER BY i.notice_id, u.id FOR UPDATE OF u""",
            [list(sent)],
        )  # one statement, not a queryset: a delivery worker runs this once per mail
        urls: dict[int, UrlStamp] = {}
        events = []
        first_notices = False
        for notice_id, url_id, *values in cursor.fetchall():
            if values[0] == UrlStatus.CLOSED:
                continue
            url = urls.setdefault(
                url_id, UrlStamp(url_id, *values)
            )  # in two of the notices: the first stamps
            first_notices |= url.first_notice_sent_at is None
            notice = notices[notice_id]
            stamp_first_notice(
                url,
                provider_id=notice.provider_id,
                asn=url.trace_asn,
                at=at,
                deadline_at=notice.deadline_at,
                country=url.trace_country or notice.provider.country,
                notice_type=notice.notice_type,
            )
            events.append(new_event("url.notified", at=at, url=url, notice=notices[notice_id]))
        write_stamps(cursor, list(urls.values()))
        queue_case_event(event=CaseEvent.NOTICED, url_ids=list(urls), at=at)
        if first_notices:  # new cases in the time-to-removal statistics
            refresh_after_commit()
        events += [new_event("notice.sent", at=at, notice=notice) for notice in notices.values()]
        record_events(events)
        received_many(
            [n for n in notices.values() if n.notice_type == NoticeType.REMOVAL_ORDER], at=at
        )  # the receipt of the orders they carry: their legal clocks start


def close_item_removed(*, url: Url, at: datetime) -> None:
    """Removal of `url` is confirmed: close its open notice items, and each notice none of whose items is open
    any more (`_finish_notices`)."""
    items = NoticeItem.objects.filter(url=url, is_open=True)
    notice_ids = list(items.values_list("notice_id", flat=True))
    items.update(status=ItemStatus.REMOVED, is_open=False, removed_at=at)
    _finish_notices(notice_ids, at=at, actor="system")


def _finish_notices(notice_ids, *, at: datetime, actor: str) -> None:
    """Each of these notices with no open item left is done: withdrawn (`cases_closed`) when an analyst
    closed every one of its cases, else closed (its URLs removed, or removed and closed)."""
    done = Notice.objects.filter(pk__in=set(notice_ids)).exclude(items__is_open=True)
    for notice in done.exclude(status__in=[NoticeStatus.CLOSED, NoticeStatus.WITHDRAWN]).order_by("pk"):
        if not notice.items.exclude(url__status=UrlStatus.CLOSED).exists():
            withdraw_notices(notices=[notice], reason=WithdrawReason.CASES_CLOSED, actor=actor, now=at)
            continue
        Notice.objects.filter(pk=notice.pk).update(status=NoticeStatus.CLOSED, closed_at=at)
        record_event("notice.closed", at=at, notice=notice)


# --- Withdrawing notices, and the notice items of cases closed or reopened ----------------------------------


def lock_notices(**lookups) -> None:
    """Lock the notices these lookups find (in id order), before the caller locks a URL of theirs: the order
    a delivery takes them in (the notice, then its URLs), so a case closed or reopened while its notice is
    being sent never deadlocks with it."""
    list(
        Notice.objects.select_for_update(of=("self",))
        .filter(**lookups)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def open_items_of(url_id: int) -> list[int]:
    """The ids of the URL's open notice items."""
    return list(
        NoticeItem.objects.filter(url_id=url_id, is_open=True).order_by("pk").values_list("pk", flat=True)
    )


def release_items(item_ids: Sequence[int], *, actor: str, now: datetime) -> None:
    """The hotline no longer asks for these items' URLs (an analyst closed the case): the items close, keeping
    their status as the provider left it, and each notice left with no open item is finished
    (`_finish_notices`: withdrawn when all its cases are closed, else closed)."""
    items = NoticeItem.objects.filter(pk__in=item_ids, is_open=True)
    notice_ids = list(items.values_list("notice_id", flat=True))
    items.update(is_open=False)
    _finish_notices(notice_ids, at=now, actor=actor)


def restore_items(item_ids: Sequence[int]) -> Notice | None:
    """A closed case is reopened: of the items its closing released (`item_ids`), those whose notice is still
    open (not closed, not withdrawn) are open again. Returns the newest such notice (its deadline paces the
    case's escalation), or None."""
    items = NoticeItem.objects.filter(pk__in=item_ids, is_open=False).exclude(
        notice__status__in=[NoticeStatus.CLOSED, NoticeStatus.WITHDRAWN]
    )
    notice_ids = list(items.values_list("notice_id", flat=True))
    items.update(is_open=True)
    return Notice.objects.filter(pk__in=notice_ids).order_by("-pk").first()


def withdraw_notices(
    *, notices: Sequence[Notice], reason: str, note: str = "", actor: str, now: datetime
) -> list[Notice]:
    """Withdraw notices not yet closed, all or none: status `withdrawn` with `withdrawn_at`.

    Side effects: their mails not yet sent are cancelled (`cancel_messages`, which waits for a send under way,
    so none leaves after the withdrawal); their open items close, and their noticed URLs left in no open
    notice get no escalation step ahead (they stay cases: checked, and free to go in a new notice — correct
    the provider first, or close the case); `notice.withdrawn` per notice with the reason, the note and the
    mails cancelled. A provider sees a notice it had received as withdrawn (portal, provider API, one-click
    links); one never sent stays unseen. Raises NoticeError for a notice already closed or withdrawn.
    """
    with transaction.atomic():
        locked = list(
            Notice.objects.select_for_update(of=("self",))
            .filter(pk__in=[n.pk for n in notices])
            .order_by("pk")
        )
        for notice in locked:
            if NoticeStatus.WITHDRAWN not in NOTICE_TRANSITIONS[notice.status]:
                raise NoticeError(
                    {"detail": [f"Notice {notice.reference} is {notice.status} and cannot be withdrawn."]}
                )
            set_notice_status(notice, NoticeStatus.WITHDRAWN)
            notice.withdrawn_at = now
        Notice.objects.bulk_update(locked, ["status", "withdrawn_at"])
        cancelled = cancel_messages([n.pk for n in locked])
        items = NoticeItem.objects.filter(notice__in=locked, is_open=True)
        url_ids = set(items.values_list("url_id", flat=True))
        items.update(is_open=False)
        elsewhere = NoticeItem.objects.filter(url_id__in=url_ids, is_open=True).values_list(
            "url_id", flat=True
        )
        stop_escalation(sorted(url_ids - set(elsewhere)))
        data = {"reason": str(reason), "note": note}
        record_events(
            [
                new_event(
                    "notice.withdrawn",
                    at=now,
                    notice=notice,
                    actor=actor,
                    data={**data, "messages_cancelled": cancelled.get(notice.pk, 0)},
                )
                for notice in locked
            ]
        )
    return locked
