"""create_notice_batches: many providers' notices created and queued at once, with a bounded number of
queries, each batch all or nothing, and mails that still parse as text + HTML, X-ARF per URL and a CSV."""

from __future__ import annotations

import csv
import email
import io
import json
import re
import time
from email import policy

import psycopg2.extensions
import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from notices.delivery.compose import attach_reports, notice_items, render_notice_mails
from notices.delivery.outbox import message_bytes
from notices.infra.write_behind import WriteBehind
from notices.models import Assessment, Event, Notice, NoticeItem, NoticeTemplate, OutgoingMessage, Url
from notices.services.batch import notices as notice_services
from notices.services.batch.notices import create_notice_batches
from notices.services.notices import NoticeError, create_notices

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch_of(make_provider, make_case, now):
    """Factory: `count` providers (the last `api_only` of them API-only), each with `per` assessed URLs."""

    def _make(count: int, *, per: int = 2, api_only: int = 0, start: int = 0):
        batches = []
        for i in range(start, start + count):
            channel = "api_only" if i >= start + count - api_only else "email"
            provider = make_provider(f"batch-{i}", prefix=None, channel=channel, language=["en", "de"][i % 2])
            batches.append(
                [
                    make_case(f"http://files.batch-{i}.example/{n}.html", provider=provider, when=now)
                    for n in range(per)
                ]
            )
        return batches

    return _make


def test_batches_several_providers_one_queued_notice_each(batch_of, now):
    batches = batch_of(3, api_only=1)

    made = create_notice_batches(batches=batches, notice_type="hotline_notice", now=now, queue_as="dispatch")

    assert made.errors == {}
    assert [n.provider_id for n in made.notices] == [batch[0].provider_id for batch in batches]
    for notice, batch in zip(made.notices, batches, strict=True):
        assert sorted(notice.items.values_list("url_id", flat=True)) == sorted(u.pk for u in batch)
    numbers = [int(n.reference.rpartition("-")[2]) for n in made.notices]
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    email_notices, api_notice = made.notices[:2], made.notices[2]
    assert list(
        Notice.objects.filter(pk__in=[n.pk for n in email_notices]).values_list("status", flat=True)
    ) == [
        "queued",
        "queued",
    ]
    assert sorted(OutgoingMessage.objects.values_list("notice_id", flat=True)) == [
        n.pk for n in email_notices
    ]
    api_notice.refresh_from_db()
    assert (api_notice.status, api_notice.sent_at, api_notice.queued_at) == ("sent", now, now)
    assert sorted(Event.objects.filter(notice=api_notice).values_list("kind", flat=True)) == sorted(
        ["notice.created", "notice.queued", "url.notified", "url.notified", "notice.sent"]
    )
    for url in batches[2]:
        url.refresh_from_db()
        assert (url.status, url.first_notice_sent_at, url.provider_at_notice_id) == (
            "notified",
            now,
            api_notice.provider_id,
        )
    assert Event.objects.filter(kind="notice.queued", actor="dispatch").count() == 3


def test_batches_bad_url_rejects_its_batch_with_field_errors_and_writes_nothing_for_it(batch_of, now):
    good, bad = batch_of(2)
    bad[1].status = "removed"
    bad[1].save(update_fields=["status"])

    made = create_notice_batches(
        batches=[good, bad], notice_type="hotline_notice", now=now, queue_as="dispatch"
    )

    assert made.errors == {1: {"urls": [f"URL {bad[1].pk} has status removed."]}}
    assert [n.provider_id for n in made.notices] == [good[0].provider_id]
    assert NoticeItem.objects.filter(url__in=bad).count() == 0
    assert OutgoingMessage.objects.count() == 1


def test_create_notices_bad_url_in_one_batch_writes_nothing(batch_of, now):
    good, bad = batch_of(2)
    bad[0].status = "removed"
    bad[0].save(update_fields=["status"])

    with pytest.raises(NoticeError) as raised:
        create_notices(urls=good + bad, notice_type="hotline_notice", now=now)

    assert raised.value.errors == {"urls": [f"URL {bad[0].pk} has status removed."]}
    assert (
        Notice.objects.count(),
        NoticeItem.objects.count(),
        Event.objects.filter(notice__isnull=False).count(),
    ) == (
        0,
        0,
        0,
    )


def test_batches_provider_without_contact_fails_only_its_batch(batch_of, now):
    first, second = batch_of(2)
    second[0].provider.contacts.update(failing=True)

    made = create_notice_batches(batches=[first, second], notice_type="hotline_notice", now=now, queue_as="x")

    assert made.errors == {1: {"detail": ["Batch-1 Hosting has no working abuse contact; add one first."]}}
    assert [n.provider_id for n in made.notices] == [first[0].provider_id]


def test_batches_url_put_in_an_open_notice_meanwhile_raises_and_writes_nothing(
    batch_of, now, monkeypatch, django_capture_on_commit_callbacks
):
    """Validation saw no open notice; another transaction then put a URL of the second batch in an open notice
    to the same provider. The unique index refuses the item (on the write-behind thread) and the call raises,
    leaving nothing of any batch: no notice, item, event or outbox row, no delivery hand-off."""
    first, second = batch_of(2)
    taken = second[1]
    validate = notice_services.valid_groups

    def validated_then_taken(batches, errors, **kwargs):
        groups = validate(batches, errors, **kwargs)
        other = Notice.objects.create(
            reference="TN-CONCURRENT-1", provider=taken.provider, status="sent", created_at=now
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {NoticeItem._meta.db_table} (notice_id, url_id, provider_id_copy, status,
                is_open)
                    VALUES (%s, %s, %s, 'open', true)""",
                [other.pk, taken.pk, taken.provider_id],
            )
        return groups

    monkeypatch.setattr(notice_services, "valid_groups", validated_then_taken)

    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(IntegrityError, match="item_one_open_notice_per_provider"),
    ):
        create_notice_batches(
            batches=[first, second],
            notice_type="hotline_notice",
            now=now,
            queue_as="dispatch",
        )

    assert list(Notice.objects.values_list("reference", flat=True)) == ["TN-CONCURRENT-1"]
    assert list(NoticeItem.objects.values_list("notice__reference", "url_id")) == [
        ("TN-CONCURRENT-1", taken.pk)
    ]
    assert (Event.objects.filter(notice__isnull=False).count(), OutgoingMessage.objects.count()) == (0, 0)
    assert callbacks == []


class SlowParameter:
    """A statement parameter whose adaptation (on the write-behind thread, before the statement is sent) takes
    a while: what the batch queued after it is written late."""

    def __conform__(self, protocol):
        time.sleep(0.5)
        return psycopg2.extensions.AsIs("1")


def test_batches_api_only_notice_is_marked_sent_once_its_items_are_written(batch_of, now, monkeypatch):
    """Marking API-only notices sent reads the notices and their items, which the write-behind inserts: it
    waits for them, however slow the writes are."""
    email_urls, api_urls = batch_of(2, api_only=1)
    insert_items = notice_services._insert_items

    def slow_insert_items(notices, items, writes):
        writes.execute("SELECT %s", [SlowParameter()])
        insert_items(notices, items, writes)

    monkeypatch.setattr(notice_services, "_insert_items", slow_insert_items)

    made = create_notice_batches(
        batches=[email_urls, api_urls],
        notice_type="hotline_notice",
        now=now,
        queue_as="dispatch",
    )

    by_mail, api_notice = made.notices
    assert list(Notice.objects.order_by("pk").values_list("pk", "status", "sent_at")) == [
        (by_mail.pk, "queued", None),
        (api_notice.pk, "sent", now),
    ]
    assert sorted(Event.objects.filter(kind="url.notified").values_list("notice_id", "url_id")) == [
        (api_notice.pk, url.pk) for url in sorted(api_urls, key=lambda u: u.pk)
    ]
    assert list(Url.objects.filter(pk__in=[u.pk for u in api_urls]).values_list("status", flat=True)) == [
        "notified",
        "notified",
    ]
    assert list(OutgoingMessage.objects.values_list("notice_id", flat=True)) == [by_mail.pk]


def _queries(batches, now) -> int:
    with CaptureQueriesContext(connection) as queries:
        made = create_notice_batches(
            batches=batches, notice_type="hotline_notice", now=now, queue_as="dispatch"
        )
    assert made.errors == {}
    return len(queries)


@pytest.fixture
def write_behind_statements(monkeypatch):
    """The statements handed to a WriteBehind: its helper thread runs them on the raw connection,
    which CaptureQueriesContext does not see."""
    statements = []
    execute = WriteBehind.execute

    def counted(self, sql, params=None):
        statements.append(sql)
        execute(self, sql, params)

    monkeypatch.setattr(WriteBehind, "execute", counted)
    return statements


def test_batches_query_count_does_not_grow_with_the_number_of_notices(
    batch_of, now, django_assert_max_num_queries, write_behind_statements
):
    small = _queries(batch_of(3, per=1, api_only=1), now)  # both languages: one template look-up each
    small_writes = len(write_behind_statements)
    large = batch_of(12, per=3, api_only=4, start=3)
    write_behind_statements.clear()

    with django_assert_max_num_queries(small):
        create_notice_batches(batches=large, notice_type="hotline_notice", now=now, queue_as="dispatch")

    assert len(write_behind_statements) == small_writes > 0
    assert Notice.objects.count() == 15


def test_batches_mail_parses_with_text_html_xarf_per_url_and_csv(batch_of, now):
    (urls,) = batch_of(1, per=3)

    (notice,) = create_notice_batches(
        batches=[urls], notice_type="hotline_notice", now=now, queue_as="x"
    ).notices

    row = OutgoingMessage.objects.get(notice=notice)
    raw = message_bytes(row)  # what the first delivery attempt stores and sends
    assert b"\n" not in raw.replace(b"\r\n", b"")
    mail = email.message_from_bytes(raw, policy=policy.default)
    # A long Message-ID is folded onto the next header line (legal); the parser keeps the fold's space.
    assert (mail["Message-ID"].strip(), mail["X-Notice-Reference"], mail["To"]) == (
        row.message_id,
        notice.reference,
        "abuse@batch-0.example",
    )
    assert mail["Subject"] == row.subject
    assert mail.get_content_type() == "multipart/mixed"
    body, *attachments = mail.iter_parts()
    assert [p.get_content_type() for p in body.iter_parts()] == ["text/plain", "text/html"]
    assert "Good-faith statement" in body.get_body(("plain",)).get_content()
    assert "hxxp://files[.]batch-0[.]example/0.html" in body.get_body(("html",)).get_content()
    names = [p.get_filename() for p in attachments]
    assert names == [f"xarf-{notice.reference}-{n}.json" for n in (1, 2, 3)] + [
        f"urls-{notice.reference}.csv"
    ]
    reports = [json.loads(p.get_payload(decode=True)) for p in attachments[:3]]
    assert [r["url"] for r in reports] == [u.canonical for u in sorted(urls, key=lambda u: u.pk)]
    rows = list(csv.reader(io.StringIO(attachments[3].get_payload(decode=True).decode())))
    assert [r[2] for r in rows[1:]] == [u.canonical for u in sorted(urls, key=lambda u: u.pk)]
    assert mail.defects == [] and all(p.defects == [] for p in mail.walk())


def _leaf_parts(raw: bytes) -> list[tuple]:
    """(type, file name, content) of each non-multipart part, one-click tokens masked (they carry the
    second)."""
    mail = email.message_from_bytes(raw, policy=policy.default)
    return [
        (
            part.get_content_type(),
            part.get_filename(),
            re.sub(r"/one-click/[^/]+/", "/one-click/…/", part.get_payload(decode=True).decode()),
        )
        for part in mail.walk()
        if not part.is_multipart()
    ]


def _mail_from_stored(notice, recipients, *, now):
    """The complete mail built again from the stored notice and its items, as a single notice builds it."""
    items = notice_items(notice)
    (mail,) = render_notice_mails(
        [notice], now=now, recipients={notice.provider_id: recipients}, items={notice.pk: items}
    )
    return attach_reports(mail, notice, items)


def test_batches_mail_says_what_a_mail_built_from_the_stored_notice_says(batch_of, now):
    """The batch renders the bodies from the URL rows it read for validation; the mail built again from the
    stored notice and items has the same bodies, X-ARF reports and CSV, for URLs with and without a trace."""
    (urls,) = batch_of(1, per=3)
    Url.objects.filter(pk=urls[1].pk).update(current_trace=None)

    (notice,) = create_notice_batches(
        batches=[urls], notice_type="hotline_notice", now=now, queue_as="x"
    ).notices

    stored = message_bytes(OutgoingMessage.objects.get(notice=notice))
    again = _mail_from_stored(Notice.objects.get(pk=notice.pk), ["abuse@batch-0.example"], now=now).as_bytes()
    assert _leaf_parts(stored) == _leaf_parts(again)
    reports = [
        json.loads(content) for kind, _name, content in _leaf_parts(stored) if kind == "application/json"
    ]
    assert [r["source_identifier"] for r in reports] == ["198.51.100.10", urls[1].host, "198.51.100.10"]


def test_batches_admin_template_sees_every_assessment_field(batch_of, now):
    """The batch loads a few assessment fields for itself; a supervisor's template may use any of them."""
    (urls,) = batch_of(1, per=1)
    Assessment.objects.filter(url=urls[0]).update(severity=4, classification="baseline")
    NoticeTemplate.objects.create(
        language="en",
        subject="Notice {{ notice.reference }}",
        body="{% for item in items %}{{ item.assessment.get_classification_display }}/"
        "{{ item.assessment.severity }}{% endfor %}",
    )

    (notice,) = create_notice_batches(
        batches=[urls], notice_type="hotline_notice", now=now, queue_as="x"
    ).notices

    row = OutgoingMessage.objects.get(notice=notice)
    assert row.text.strip() == "Baseline (illegal everywhere)/4"  # rendered when queued
    mail = email.message_from_bytes(message_bytes(row), policy=policy.default)
    text = mail.get_body(("plain",)).get_content()
    assert text.strip() == "Baseline (illegal everywhere)/4"
