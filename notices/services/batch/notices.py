"""Many providers' notices created (and queued) in one transaction, with a fixed number of queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from notices.delivery.compose import MailItem
from notices.enums import ItemStatus
from notices.infra.bulk import int_array
from notices.infra.events import actor_label, new_event, record_events
from notices.infra.write_behind import WriteBehind
from notices.models import Notice, NoticeItem, Url
from notices.services.casework import unverified_cases, unverified_error
from notices.services.notices import (
    check_deadline,
    insert_notices,
    new_notices,
    outbox_plan,
    queue_written,
    recipients_or_errors,
    valid_groups,
)


@dataclass
class NoticeBatches:
    """What `create_notice_batches` made: the notices in batch order, and the field errors of each batch (by
    its index) that wrote nothing."""

    notices: list[Notice] = field(default_factory=list)
    errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)


def create_notice_batches(
    *,
    batches: Sequence[Sequence[Url | int]],
    notice_type: str,
    now: datetime,
    created_by=None,
    deadline_at: datetime | None = None,
    queue_as: str | None = None,
) -> NoticeBatches:
    """Create one notice per hosting provider in each batch of URLs (or URL ids), for many batches at once;
    with `queue_as` (the actor), queue them at once as `queue_notices` does.

    A batch naming a URL that cannot go in a notice (or, when queuing, a provider without a working abuse
    contact) writes nothing and gets its field errors in `errors[index]`; the other batches go ahead. Raises
    NoticeError only for a removal order without `deadline_at`. The number of queries does not grow with the
    number of notices: the URLs (with assessment, provider, trace), their open notices, the hand-off
    countries, the references and the contacts are read once; notices, items, events and outbox rows are bulk
    inserts, run by a `WriteBehind` while the mails are rendered.

    Side effects: notices (with their references from the sequence), items, `notice.created` per notice; when
    queuing, everything `queue_notices` writes."""
    check_deadline(notice_type, deadline_at)
    made = NoticeBatches()
    groups = valid_groups(batches, made.errors, now=now)
    if queue_as is not None:
        for index, group in groups:
            if unverified := unverified_cases(url.pk for urls in group for url in urls):
                made.errors[index] = unverified_error(unverified)
        groups = [(index, group) for index, group in groups if index not in made.errors]
        providers = [(index, [urls[0].provider for urls in group]) for index, group in groups]
        recipients = recipients_or_errors(providers, made.errors)
    groups = [group for index, group in groups if index not in made.errors]
    if not groups:
        return made
    with transaction.atomic(), WriteBehind() as writes:
        # Reads first (references, ids, templates): a read waits for the writes queued before it.
        per_notice = [urls for group in groups for urls in group]
        made.notices = new_notices(per_notice, notice_type, now, created_by, deadline_at, queued=queue_as)
        plan = outbox_plan(made.notices) if queue_as is not None else None
        items = _write_notices(made.notices, per_notice, now, created_by, writes=writes)
        if queue_as is not None:
            queue_written(
                made.notices, items, now=now, actor=queue_as, recipients=recipients, writes=writes, plan=plan
            )
    return made


def _write_notices(notices, per_notice, now, created_by, *, writes: WriteBehind) -> dict[int, list[MailItem]]:
    """Insert the notices, their items and `notice.created` events; returns the items per notice id."""
    insert_notices(notices, writes)
    items = {
        notice.pk: [MailItem(url.pk, url) for url in sorted(urls, key=lambda u: u.pk)]
        for notice, urls in zip(notices, per_notice, strict=True)
    }
    _insert_items(notices, items, writes)
    actor = actor_label(user=created_by)
    record_events(
        [
            new_event(
                "notice.created", at=now, notice=notice, actor=actor, data={"urls": [u.pk for u in urls]}
            )
            for notice, urls in zip(notices, per_notice, strict=True)
        ],
        writes=writes,
    )
    return items


def _insert_items(notices: list[Notice], items: dict[int, list[MailItem]], writes: WriteBehind) -> None:
    """The notices' items in one INSERT from array literals (10,000 NoticeItem objects cost more than the
    SQL)."""
    rows = [(notice, item.url_id) for notice in notices for item in items[notice.pk]]
    writes.execute(
        f"""INSERT INTO {NoticeItem._meta.db_table} (notice_id, url_id, provider_id_copy, status, is_open)
            SELECT n, u, p, %s, true FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS v(n, u, p)""",
        [
            ItemStatus.OPEN,
            int_array(n.pk for n, _ in rows),
            int_array(u for _, u in rows),
            int_array(n.provider_id for n, _ in rows),
        ],
    )
