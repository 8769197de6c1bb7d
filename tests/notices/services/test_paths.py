"""The plain path (admin, API: `create_notices` and `queue_notices`, ORM in one transaction) and the batch
path (dispatch cycles: `create_notice_batches`, COPY on a write-behind thread) write the same rows and events
for the same input."""

from __future__ import annotations

import pytest
from django.db import transaction

from notices.models import Event, Notice, NoticeItem, OutgoingMessage
from notices.services.batch.notices import create_notice_batches
from notices.services.notices import create_notices, queue_notices

pytestmark = pytest.mark.django_db


def _snapshot(notices: list[Notice]) -> dict:
    """Everything written, with what differs by construction (ids, references, Message-IDs) replaced by the
    notice's position in the batch."""
    order = {notice.pk: n for n, notice in enumerate(notices)}
    refs = {notice.reference: f"REF{n}" for n, notice in enumerate(notices)}

    def plain(text: str) -> str:
        for reference, label in refs.items():
            text = text.replace(reference, label)
        return text

    rows = Notice.objects.filter(pk__in=order).order_by("pk")
    return {
        "notices": [
            (
                order[n.pk],
                n.provider_id,
                n.notice_type,
                n.status,
                n.language,
                n.deadline_at,
                n.created_at,
                n.queued_at,
                n.sent_at,
                n.created_by_id,
            )
            for n in rows
        ],
        "items": sorted(
            (order[i.notice_id], i.url_id, i.status, i.is_open, i.provider_id_copy)
            for i in NoticeItem.objects.filter(notice_id__in=order)
        ),
        "events": sorted(
            (e.kind, e.at, e.url_id, order.get(e.notice_id), e.actor, repr(sorted(e.data.items())))
            for e in Event.objects.filter(notice_id__in=order)
        ),
        "url_events": sorted(
            (e.kind, e.url_id, e.actor)
            for e in Event.objects.filter(
                url_id__in=NoticeItem.objects.filter(notice_id__in=order).values("url_id"),
                notice__isnull=True,
            )
        ),
        "outbox": sorted(
            (
                order[m.notice_id],
                m.recipients,
                plain(m.subject),
                m.status,
                m.attempts,
                m.next_attempt_at,
                m.created_at,
            )
            for m in OutgoingMessage.objects.filter(notice_id__in=order)
        ),
        "urls": sorted(
            NoticeItem.objects.filter(notice_id__in=order).values_list(
                "url__id",
                "url__status",
                "url__next_check_at",
                "url__first_notice_sent_at",
                "url__provider_at_notice_id",
            )
        ),
    }


def _plain(batches, now, queue):
    notices = []
    for urls in batches:
        made = create_notices(urls=urls, notice_type="hotline_notice", now=now)
        notices += queue_notices(notices=made, now=now, actor=queue) if queue else made
    return sorted(notices, key=lambda n: n.pk)


def _batch(batches, now, queue):
    made = create_notice_batches(batches=batches, notice_type="hotline_notice", now=now, queue_as=queue)
    assert made.errors == {}
    return made.notices


@pytest.mark.parametrize("queue", [None, "dispatch"])
def test_plain_and_batch_paths_write_the_same(make_provider, make_case, now, queue):
    batches = []
    for i in range(3):
        channel = "api_only" if i == 2 else "email"
        provider = make_provider(f"paths-{i}", prefix=None, channel=channel, language=["en", "de", "nl"][i])
        batches.append(
            [
                make_case(f"http://files.paths-{i}.example/{n}.html", provider=provider, when=now)
                for n in range(3)
            ]
        )
    snapshots = []
    for path in (_plain, _batch):
        with transaction.atomic():
            snapshots.append(_snapshot(path(batches, now, queue)))
            transaction.set_rollback(True)  # the second path starts from the same state
    plain, batch = snapshots
    assert plain["notices"] and plain["items"] and plain["events"]
    if queue:
        assert plain["outbox"] and any(row[1] == "notified" for row in plain["urls"])
    assert plain == batch
