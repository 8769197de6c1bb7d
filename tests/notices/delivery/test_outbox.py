"""The outbox against a real SMTP server: queue, claim, send, retry with backoff, bounces, expired claims, and
the mail itself (CRLF MIME, X-ARF per URL, CSV, defanged bodies)."""

from __future__ import annotations

import csv
import email
import io
import json
import smtplib
from datetime import timedelta
from email import policy

import pytest
from django.db import connection
from django.utils import timezone
from jsonschema import Draft202012Validator

from notices.canonical import defang
from notices.delivery.compose import attach_reports, render_notice_mails
from notices.delivery.outbox import claim_due_messages, message_bytes
from notices.models import Assessment, Event, Notice, OutgoingMessage, ProviderContact, Url
from notices.services.delivery import send_claimed
from notices.services.notices import NoticeError, queue_notice

# X-ARF v4, category `content`, type `csam`: the core fields, the content base (`url`) and the csam type's own
# required fields and vocabularies, in one schema. On top of the published rules, a hotline never attaches
# `evidence` (PRODUCT.md "Notices").
XARF_CSAM_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": [
        "xarf_version",
        "report_id",
        "timestamp",
        "reporter",
        "sender",
        "source_identifier",
        "category",
        "type",
        "url",
        "classification",
        "detection_method",
    ],
    "properties": {
        "xarf_version": {"type": "string", "pattern": r"^4\.[0-9]+\.[0-9]+$"},
        "report_id": {"type": "string", "format": "uuid"},
        "timestamp": {"type": "string", "format": "date-time"},
        "reporter": {"$ref": "#/$defs/party"},
        "sender": {"$ref": "#/$defs/party"},
        "source_identifier": {"type": "string", "minLength": 1},
        "category": {"const": "content"},
        "type": {"const": "csam"},
        "url": {"type": "string", "format": "uri"},
        "domain": {"type": "string", "format": "hostname"},
        "classification": {"enum": ["baseline", "A1", "A2", "B1", "B2"]},
        "detection_method": {
            "enum": ["hash_match", "ai_detection", "manual_review", "user_report", "automated_scan"]
        },
        "media_type": {"enum": ["image", "video", "audio", "text", "mixed"]},
        "tags": {
            "type": "array",
            "maxItems": 20,
            "items": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_+-]*:[a-z0-9][a-z0-9_+.-]*$"},
        },
    },
    "not": {"required": ["evidence"]},
    "$defs": {
        "party": {
            "type": "object",
            "required": ["org", "contact", "domain"],
            "properties": {
                "org": {"type": "string", "maxLength": 200},
                "contact": {"type": "string", "format": "email"},
                "domain": {"type": "string", "format": "hostname"},
            },
            "additionalProperties": False,
        }
    },
}
Draft202012Validator.check_schema(XARF_CSAM_SCHEMA)
XARF_VALIDATOR = Draft202012Validator(XARF_CSAM_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture(autouse=True)
def _hotline(settings):
    settings.HOTLINE_NAME = "Test Hotline"
    settings.HOTLINE_EMAIL = "notices@hotline.example"
    settings.DEFAULT_FROM_EMAIL = "Test Hotline <notices@hotline.example>"


def claim_and_send(now) -> list[str]:
    return [send_claimed(message_id) for message_id in claim_due_messages(now=now, limit=10)]


def refreshed(*objects):
    for obj in objects:
        obj.refresh_from_db()
    return objects


# --- queue_notice -----------------------------------------------------------------------------------------


def test_queue_notice_writes_the_outbox_message_with_the_notice(queued, provider, now):
    notice, message, case = queued

    assert (notice.status, notice.queued_at, notice.sent_at, notice.deadline_at) == (
        "queued",
        now,
        None,
        now + timedelta(hours=24),
    )
    assert (
        message.status,
        message.recipients,
        message.attempts,
        message.next_attempt_at,
        message.created_at,
    ) == (
        "pending",
        ["abuse@polder.example"],
        0,
        now,
        now,
    )
    assert message.subject == (
        f"[{notice.reference}] Hotline notice: child sexual abuse material on your network"
    )
    assert message.message_id.startswith("<") and message.message_id.endswith("@hotline.example>")
    assert notice.reference in message.message_id
    assert list(Event.objects.filter(notice=notice).order_by("pk").values_list("kind", "at")) == [
        ("notice.created", now),
        ("notice.queued", now),
    ]
    case.refresh_from_db()
    # Not sent yet: still assessed, never noticed; only its pre-notice check is scheduled (since assessment).
    assert (case.status, case.first_notice_sent_at) == ("assessed", None)
    assert case.next_check_at == case.assessed_at


def test_queue_notice_sends_only_to_working_abuse_contacts(make_case, provider, queue, now):
    ProviderContact.objects.create(provider=provider, email="noc@polder.example", is_abuse=False)
    ProviderContact.objects.create(provider=provider, email="old@polder.example", failing=True)
    ProviderContact.objects.create(provider=provider, email="desk@polder.example")
    case = make_case(provider=provider, when=now)

    notice = queue(case, now=now)

    assert notice.messages.get().recipients == ["abuse@polder.example", "desk@polder.example"]


def test_queue_notice_without_working_contact_raises_and_writes_nothing(make_case, provider, analyst, now):
    from notices.services.notices import create_notices

    ProviderContact.objects.filter(provider=provider).update(failing=True)
    case = make_case(provider=provider, when=now)
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=now, created_by=analyst)

    with pytest.raises(NoticeError) as raised:
        queue_notice(notice=notice, now=now)

    assert raised.value.errors == {"detail": ["Polder Hosting has no working abuse contact; add one first."]}
    notice.refresh_from_db()
    assert (notice.status, notice.queued_at, notice.deadline_at) == ("draft", None, None)
    assert OutgoingMessage.objects.count() == 0
    assert list(Event.objects.filter(notice=notice).values_list("kind", flat=True)) == ["notice.created"]


def test_queue_notice_twice_is_refused(queued, now):
    notice, _, _ = queued

    with pytest.raises(NoticeError) as raised:
        queue_notice(notice=notice, now=now)

    assert raised.value.errors == {"detail": [f"Notice {notice.reference} is already queued."]}
    assert OutgoingMessage.objects.count() == 1


def test_queue_notice_api_only_provider_is_sent_at_once_without_mail(make_provider, make_case, queue, now):
    provider = make_provider("pickup", prefix=None, channel="api_only")
    case = make_case(provider=provider, when=now)

    notice = queue(case, now=now)

    assert (notice.status, notice.queued_at, notice.sent_at) == ("sent", now, now)
    assert OutgoingMessage.objects.count() == 0
    case.refresh_from_db()
    assert (
        case.status,
        case.first_notice_sent_at,
        case.provider_at_notice_id,
        case.country_at_notice,
        case.asn_at_notice,
        case.notice_type_at_notice,
        case.next_check_at,
    ) == (
        "notified",
        now,
        provider.pk,
        "NL",
        64500,
        "hotline_notice",
        now,
    )
    assert list(Event.objects.filter(notice=notice).order_by("pk").values_list("kind", flat=True)) == [
        "notice.created",
        "notice.queued",
        "url.notified",
        "notice.sent",
    ]


def test_queue_notice_keeps_the_deadline_of_a_removal_order(make_case, provider, analyst, now):
    from notices.services.notices import create_notices

    case = make_case(provider=provider, when=now)
    (notice,) = create_notices(
        urls=[case],
        notice_type="removal_order",
        now=now,
        created_by=analyst,
        deadline_at=now + timedelta(minutes=60),
    )

    notice = queue_notice(notice=notice, now=now + timedelta(minutes=5))

    assert notice.deadline_at == now + timedelta(minutes=60)


# --- sending ----------------------------------------------------------------------------------------------


def test_send_claimed_accepted_marks_notice_sent_and_stamps_the_url(smtp_sink, queued, provider, now):
    notice, message, case = queued

    assert claim_due_messages(now=now, limit=10) == [message.pk]
    assert send_claimed(message.pk) == "sent"

    (mail,) = smtp_sink.wait_for(1)
    # A long Message-ID may be folded onto the next header line (legal); the parser keeps the fold's space.
    assert (mail["Message-ID"].strip(), mail["X-Notice-Reference"], mail["X-Sink-Rcpt-To"]) == (
        message.message_id,
        notice.reference,
        "abuse@polder.example",
    )
    refreshed(notice, message, case)
    assert (message.status, message.attempts, message.last_error) == ("sent", 1, "")
    sent = message.sent_at
    assert (notice.status, notice.sent_at) == ("sent", sent)
    assert (
        case.status,
        case.first_notice_sent_at,
        case.provider_at_notice_id,
        case.country_at_notice,
        case.asn_at_notice,
        case.notice_type_at_notice,
        case.next_check_at,
    ) == (
        "notified",
        sent,
        provider.pk,
        "NL",
        64500,
        "hotline_notice",
        sent,
    )
    assert list(Event.objects.filter(at=sent).order_by("pk").values_list("kind", "url_id", "notice_id")) == [
        ("url.notified", case.pk, notice.pk),
        ("notice.sent", None, notice.pk),
    ]


def test_send_claimed_first_notice_time_is_kept_by_a_later_notice(
    smtp_sink, make_case, make_provider, provider, queue, now
):
    case = make_case(provider=provider, when=now)
    first = queue(case, now=now)
    claim_and_send(now)
    case.refresh_from_db()
    first_sent = case.first_notice_sent_at
    # The URL moved; a notice to the new provider must not move the first-notice time or provider.
    other = make_provider("movers", country="BG", prefix=None)
    Url.objects.filter(pk=case.pk).update(provider=other)

    second = queue(case, now=now + timedelta(hours=1))
    claim_and_send(now + timedelta(hours=1))

    refreshed(case, first, second)
    assert (first.status, second.status) == ("sent", "sent")
    assert (case.first_notice_sent_at, case.provider_at_notice_id, case.country_at_notice) == (
        first_sent,
        provider.pk,
        "NL",
    )
    assert case.next_check_at == second.sent_at


def test_send_claimed_tempfail_schedules_a_retry_with_backoff(smtp_sink, queued, now):
    notice, message, case = queued
    smtp_sink.mode = "tempfail"

    assert claim_and_send(now) == ["pending"]

    refreshed(notice, message, case)
    event = Event.objects.get(kind="notice.delivery_retry")
    error = "recipients refused: {'abuse@polder.example': (451, b'4.3.0 Try again later')}"
    assert (message.status, message.attempts, message.claimed_until, message.last_error) == (
        "pending",
        1,
        None,
        error,
    )
    assert message.next_attempt_at == event.at + timedelta(seconds=60)
    assert (event.notice_id, event.data) == (notice.pk, {"error": error, "attempt": 1})
    assert (notice.status, notice.sent_at, case.first_notice_sent_at) == ("queued", None, None)
    assert ProviderContact.objects.get(email="abuse@polder.example").failing is False
    assert smtp_sink.messages() == []


def test_send_claimed_backoff_doubles_per_attempt(smtp_sink, queued, now):
    _, message, _ = queued
    smtp_sink.mode = "tempfail"
    claim_and_send(now)
    message.refresh_from_db()

    assert claim_and_send(message.next_attempt_at) == ["pending"]

    message.refresh_from_db()
    second = Event.objects.filter(kind="notice.delivery_retry").latest("pk")
    assert (message.attempts, second.data["attempt"]) == (2, 2)
    assert message.next_attempt_at == second.at + timedelta(seconds=120)


def test_send_claimed_retry_is_not_due_before_its_time_then_sends(smtp_sink, queued, now):
    notice, message, case = queued
    smtp_sink.mode = "tempfail"
    claim_and_send(now)
    message.refresh_from_db()
    smtp_sink.mode = "accept"

    assert claim_due_messages(now=message.next_attempt_at - timedelta(seconds=1), limit=10) == []
    assert claim_and_send(message.next_attempt_at) == ["sent"]

    (mail,) = smtp_sink.wait_for(1)
    refreshed(notice, message, case)
    assert (message.status, message.attempts, message.last_error) == ("sent", 2, "")
    assert (notice.status, case.status, case.first_notice_sent_at) == ("sent", "notified", message.sent_at)
    assert mail["Message-ID"].strip() == message.message_id


def test_send_claimed_gives_up_after_max_attempts(smtp_sink, queued, now, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    notice, message, _ = queued
    smtp_sink.mode = "tempfail"
    claim_and_send(now)
    message.refresh_from_db()

    assert claim_and_send(message.next_attempt_at) == ["failed"]

    refreshed(notice, message)
    assert (message.status, message.attempts, message.next_attempt_at) == ("failed", 2, None)
    assert notice.status == "failed"
    assert list(
        Event.objects.filter(kind__startswith="notice.delivery").order_by("pk").values_list("kind", flat=True)
    ) == [
        "notice.delivery_retry",
        "notice.delivery_failed",
    ]
    assert ProviderContact.objects.get(email="abuse@polder.example").failing is False


def test_send_claimed_permfail_at_rcpt_fails_and_marks_the_contact(smtp_sink, queued, now):
    notice, message, case = queued
    smtp_sink.mode = "permfail"

    assert claim_and_send(now) == ["failed"]

    refreshed(notice, message, case)
    event = Event.objects.get(kind="notice.delivery_failed")
    assert (message.status, message.next_attempt_at, message.attempts) == ("failed", None, 1)
    assert (notice.status, notice.sent_at, case.status) == ("failed", None, "assessed")
    contact = ProviderContact.objects.get(email="abuse@polder.example")
    assert (contact.failing, contact.failure_reason, contact.failed_at) == (
        True,
        "550 5.1.1 User unknown",
        event.at,
    )
    assert event.data == {
        "error": "recipients refused: {'abuse@polder.example': (550, b'5.1.1 User unknown')}",
        "attempt": 1,
    }
    assert smtp_sink.messages() == []


def test_send_claimed_permfail_at_data_fails_without_marking_the_contact(smtp_sink, queued, now):
    notice, message, _ = queued
    smtp_sink.fail_stage = "data"
    smtp_sink.mode = "permfail"

    assert claim_and_send(now) == ["failed"]

    refreshed(notice, message)
    assert (message.status, message.last_error, notice.status) == (
        "failed",
        "550 b'5.1.1 User unknown'",
        "failed",
    )
    assert ProviderContact.objects.get(email="abuse@polder.example").failing is False


def test_send_claimed_tempfail_at_data_retries(smtp_sink, queued, now):
    _, message, _ = queued
    smtp_sink.fail_stage = "data"
    smtp_sink.mode = "tempfail"

    assert claim_and_send(now) == ["pending"]

    message.refresh_from_db()
    assert (message.status, message.last_error) == ("pending", "451 b'4.3.0 Try again later'")


def test_send_claimed_one_recipient_refused_delivers_to_the_others_and_marks_it(
    smtp_sink, make_case, provider, queue, now
):
    ProviderContact.objects.create(provider=provider, email="desk@polder.example")
    case = make_case(provider=provider, when=now)
    notice = queue(case, now=now)
    smtp_sink.rules = {"abuse@polder.example": "permfail"}

    assert claim_and_send(now) == ["sent"]

    (mail,) = smtp_sink.wait_for(1)
    assert mail["X-Sink-Rcpt-To"] == "desk@polder.example"
    notice.refresh_from_db()
    assert notice.status == "sent"
    assert dict(ProviderContact.objects.filter(provider=provider).values_list("email", "failing")) == {
        "abuse@polder.example": True,
        "desk@polder.example": False,
    }
    bounced = ProviderContact.objects.get(email="abuse@polder.example")
    assert (bounced.failure_reason, bounced.failed_at) == ("550 5.1.1 User unknown", notice.sent_at)


def test_send_claimed_hanging_server_times_out_and_retries(smtp_sink, queued, now, settings):
    settings.EMAIL_TIMEOUT = 1
    notice, message, _ = queued
    smtp_sink.mode = "hang"

    assert claim_and_send(now) == ["pending"]

    refreshed(notice, message)
    event = Event.objects.get(kind="notice.delivery_retry")
    assert (message.status, message.attempts, notice.status) == ("pending", 1, "queued")
    assert message.next_attempt_at == event.at + timedelta(seconds=60)
    assert "timed out" in message.last_error


def test_send_claimed_after_expired_claim_resends_the_same_message_id(smtp_sink, queued, now):
    notice, message, _ = queued
    # A worker claims the message, completes and stores it, hands it to SMTP and dies before it can record
    # that it was sent.
    assert claim_due_messages(now=now, limit=10) == [message.pk]
    message.refresh_from_db()
    with smtplib.SMTP("127.0.0.1", smtp_sink.port, timeout=5) as smtp:
        smtp.sendmail("notices@hotline.example", message.recipients, message_bytes(message))

    assert claim_due_messages(now=now + timedelta(seconds=599), limit=10) == []  # the claim still holds
    assert claim_due_messages(now=now + timedelta(seconds=601), limit=10) == [message.pk]
    assert send_claimed(message.pk) == "sent"

    first, second = smtp_sink.wait_for(2)
    assert first["Message-ID"].strip() == second["Message-ID"].strip() == message.message_id
    assert first.as_bytes() == second.as_bytes()
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert Notice.objects.get(pk=notice.pk).status == "sent"


def test_send_claimed_sent_message_is_never_claimed_again(smtp_sink, queued, now):
    _, message, _ = queued
    claim_and_send(now)

    assert claim_due_messages(now=now + timedelta(days=1), limit=10) == []
    assert send_claimed(message.pk) == "sent"  # a stray second task does nothing
    assert len(smtp_sink.wait_for(1)) == 1


def test_send_claimed_unclaimed_message_is_not_sent(smtp_sink, queued):
    _, message, _ = queued

    assert send_claimed(message.pk) == "pending"

    assert smtp_sink.messages() == []


def test_claim_due_messages_restricts_to_message_ids_and_limit(make_case, provider, queue, now):
    messages = [
        queue(make_case(f"http://files.polder.example/{n}.html", provider=provider, when=now), now=now)
        .messages.get()
        .pk
        for n in range(3)
    ]

    assert claim_due_messages(now=now, limit=10, message_ids=[messages[1]]) == [messages[1]]
    assert claim_due_messages(now=now, limit=10, message_ids=[]) == []
    assert len(claim_due_messages(now=now, limit=1)) == 1
    assert sorted(OutgoingMessage.objects.values_list("status", "attempts", "claimed_until")) == [
        ("pending", 0, None),
        ("sending", 1, now + timedelta(seconds=600)),
        ("sending", 1, now + timedelta(seconds=600)),
    ]


def test_claim_due_messages_is_bounded_by_limit_whatever_the_plan(make_case, provider, queue, now):
    """As for URL claims: stale statistics must not let a rescanned subquery claim more than `limit`."""
    queue(make_case("http://files.polder.example/0.html", provider=provider, when=now), now=now)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {OutgoingMessage._meta.db_table}")
    for n in range(1, 6):
        queue(make_case(f"http://files.polder.example/{n}.html", provider=provider, when=now), now=now)

    assert len(claim_due_messages(now=now, limit=3)) == 3
    assert OutgoingMessage.objects.filter(status="sending").count() == 3


def test_claim_due_messages_not_due_before_queue_time(queued, now):
    assert claim_due_messages(now=now - timedelta(seconds=1), limit=10) == []


# --- the mail ---------------------------------------------------------------------------------------------


def test_outbox_mime_has_crlf_line_endings(queued):
    _, message, _ = queued
    raw = message_bytes(message)

    assert raw.count(b"\n") == raw.count(b"\r\n") > 50
    assert raw.count(b"\r") == raw.count(b"\r\n")


def test_outbox_mime_is_stored_uncompressed(db):
    """Migration 0016: compressing ~15 KB per message cost more than the rest of the INSERT."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT attstorage FROM pg_attribute
               WHERE attrelid = 'notices_outgoingmessage'::regclass AND attname = 'mime'"""
        )
        assert cursor.fetchone() == ("e",)


def xarf_classifications(raw: bytes) -> list[str]:
    mail = email.message_from_bytes(raw, policy=policy.default)
    return [
        json.loads(p.get_content())["classification"]
        for p in mail.iter_attachments()
        if p.get_content_type() == "application/json"
    ]


def test_message_bytes_first_call_completes_and_stores_the_mail(queued):
    notice, message, case = queued
    assert OutgoingMessage.objects.get(pk=message.pk).mime is None  # queuing stores the rendered parts only
    assert defang(case.canonical) in message.text
    assert defang(case.canonical) in message.html

    data = message_bytes(message)

    assert bytes(OutgoingMessage.objects.get(pk=message.pk).mime) == data
    mail = email.message_from_bytes(data, policy=policy.default)
    assert (mail["Message-ID"].strip(), mail["Subject"]) == (message.message_id, message.subject)
    assert [p.get_filename() for p in mail.iter_attachments()] == [
        f"xarf-{notice.reference}-1.json",
        f"urls-{notice.reference}.csv",
    ]
    assert xarf_classifications(data) == ["A1"]


def test_message_bytes_again_returns_the_stored_bytes_without_rebuilding(queued, now, monkeypatch):
    notice, message, case = queued
    first = message_bytes(OutgoingMessage.objects.get(pk=message.pk))
    Assessment.objects.filter(url=case).update(classification="A2")
    # A mail built now would say A2…
    again = Notice.objects.get(pk=notice.pk)
    (mail,) = render_notice_mails([again], now=now, recipients={again.provider_id: message.recipients})
    rebuilt = attach_reports(mail, again).as_bytes()
    assert xarf_classifications(rebuilt) == ["A2"]
    monkeypatch.setattr("notices.delivery.outbox.attach_reports", None)  # …and is not built again

    again = message_bytes(OutgoingMessage.objects.get(pk=message.pk))

    assert again == first
    assert xarf_classifications(again) == ["A1"]


def test_message_bytes_of_a_stale_copy_returns_what_was_stored_meanwhile(queued):
    """A worker whose claim expired read the row before another stored the mail: it sends the stored copy."""
    _, message, case = queued
    stale = OutgoingMessage.objects.get(pk=message.pk)
    first = message_bytes(OutgoingMessage.objects.get(pk=message.pk))
    Assessment.objects.filter(url=case).update(classification="A2")

    assert stale.mime is None
    assert message_bytes(stale) == first
    assert bytes(OutgoingMessage.objects.get(pk=message.pk).mime) == first


def test_first_attempt_stores_the_mail_before_smtp_and_the_retry_sends_it_unchanged(smtp_sink, queued, now):
    _, message, case = queued
    smtp_sink.mode = "tempfail"
    assert claim_and_send(now) == ["pending"]
    message.refresh_from_db()
    stored = bytes(message.mime)  # nothing was delivered, the mail is stored all the same
    Assessment.objects.filter(url=case).update(classification="A2")
    smtp_sink.mode = "accept"

    assert claim_and_send(message.next_attempt_at) == ["sent"]

    (mail,) = smtp_sink.wait_for(1)
    received = mail.as_bytes(policy=mail.policy.clone(linesep="\n")).split(b"\n", 2)[2]
    assert received == stored.replace(b"\r\n", b"\n")
    assert xarf_classifications(stored) == ["A1"]
    message.refresh_from_db()
    assert bytes(message.mime) == stored


def test_sent_mail_has_the_rendered_bodies_one_xarf_per_url_and_the_csv(
    smtp_sink, make_case, provider, queue, now
):
    cases = [
        make_case(f"http://files.polder.example/{name}.html", provider=provider, when=now) for name in "abc"
    ]
    notice = queue(*cases, now=now)
    row = notice.messages.get()
    assert row.mime is None

    assert claim_and_send(now) == ["sent"]

    (mail,) = smtp_sink.wait_for(1)
    assert [p.get_content_type() for p in mail.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "application/json",
        "application/json",
        "application/json",
        "text/csv",
    ]
    assert mail.get_body(("plain",)).get_content().strip() == row.text.strip()
    assert mail.get_body(("html",)).get_content().strip() == row.html.strip()
    ref = notice.reference
    attachments = list(mail.iter_attachments())
    assert [p.get_filename() for p in attachments] == [f"xarf-{ref}-{n}.json" for n in (1, 2, 3)] + [
        f"urls-{ref}.csv"
    ]
    assert [json.loads(p.get_content())["url"] for p in attachments[:3]] == [c.canonical for c in cases]
    rows = list(csv.reader(io.StringIO(attachments[3].get_content())))
    assert [r[2] for r in rows[1:]] == [c.canonical for c in cases]


@pytest.fixture
def sent_mail(smtp_sink, make_case, provider, queue, now):
    """A notice naming two URLs (one with a query), sent through the sink: (notice, [cases], received
    mail)."""
    cases = [
        make_case("http://files.polder.example/a.html", provider=provider, when=now),
        make_case("http://files.polder.example/gallery/b.jpg?id=7", provider=provider, when=now),
    ]
    notice = queue(*cases, now=now)
    claim_and_send(now)
    (mail,) = smtp_sink.wait_for(1)
    return notice, cases, mail


def test_sent_mail_attaches_one_valid_xarf_report_per_url(sent_mail, now):
    notice, cases, mail = sent_mail
    ref = notice.reference
    attachments = {part.get_filename(): part for part in mail.iter_attachments()}

    assert sorted(attachments) == [f"urls-{ref}.csv", f"xarf-{ref}-1.json", f"xarf-{ref}-2.json"]
    reports = [json.loads(attachments[f"xarf-{ref}-{n}.json"].get_content()) for n in (1, 2)]
    for report in reports:
        assert sorted(XARF_VALIDATOR.iter_errors(report), key=str) == []
    hotline = {"org": "Test Hotline", "contact": "notices@hotline.example", "domain": "hotline.example"}
    assert [
        (
            r["url"],
            r["domain"],
            r["source_identifier"],
            r["classification"],
            r["detection_method"],
            r["category"],
            r["type"],
            r["reporter"],
            r["sender"],
        )
        for r in reports
    ] == [
        (
            case.canonical,
            "files.polder.example",
            "198.51.100.10",
            "A1",
            "manual_review",
            "content",
            "csam",
            hotline,
            hotline,
        )
        for case in cases
    ]
    assert reports[0]["report_id"] != reports[1]["report_id"]
    assert reports[0]["timestamp"] == now.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_sent_mail_attaches_a_csv_of_all_urls(sent_mail):
    notice, cases, mail = sent_mail
    (part,) = [p for p in mail.iter_attachments() if p.get_filename().endswith(".csv")]

    rows = list(csv.reader(io.StringIO(part.get_content())))

    assert part.get_content_type() == "text/csv"
    assert rows == [
        ["reference", "url_id", "url", "classification", "ip"],
        *[[notice.reference, str(case.pk), case.canonical, "A1", "198.51.100.10"] for case in cases],
    ]


def test_sent_mail_bodies_show_urls_only_defanged(sent_mail):
    _, cases, mail = sent_mail

    for kind in ("plain", "html"):
        body = mail.get_body(preferencelist=(kind,)).get_content()
        assert [defang(case.canonical) in body for case in cases] == [True, True], kind
        assert "files.polder.example" not in body, kind
        assert [case.canonical in body for case in cases] == [False, False], kind


def test_sent_mail_is_the_stored_mime(sent_mail):
    notice, _, mail = sent_mail
    stored = bytes(notice.messages.get().mime)

    # The sink stores SMTP's CRLF as LF and puts its envelope headers on top; otherwise the bytes are the
    # same.
    received = mail.as_bytes(policy=mail.policy.clone(linesep="\n"))
    assert received.split(b"\n", 2)[2] == stored.replace(b"\r\n", b"\n")


def test_send_claimed_records_sent_time_between_send_and_now(smtp_sink, queued, now):
    _, message, _ = queued
    before = timezone.now()
    claim_and_send(now)
    after = timezone.now()

    message.refresh_from_db()
    assert before <= message.sent_at <= after


@pytest.mark.parametrize(
    ("language", "subject_words", "body_words"),
    [
        ("en", "child sexual abuse material on your network", "Good-faith statement"),
        ("de", "Darstellungen sexuellen Kindesmissbrauchs", "Erklärung des guten Glaubens"),
        ("nl", "materiaal van seksueel misbruik van kinderen", "Verklaring van goede trouw"),
        ("fr", "matériel d'abus sexuel sur enfants", "Déclaration de bonne foi"),
    ],
)
def test_notice_mail_speaks_the_provider_language(
    make_provider, make_case, now, language, subject_words, body_words
):
    from notices.services.notices import create_notices

    provider = make_provider(f"lang-{language}", language=language, prefix=None)
    case = make_case(f"http://files.lang-{language}.example/a.html", provider=provider, when=now)
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=now)
    (message,) = render_notice_mails(
        [notice], now=now, recipients={notice.provider_id: ["abuse@lang.example"]}
    )

    assert subject_words in message.subject
    assert message.subject.startswith(f"[{notice.reference}]")
    assert body_words in message.text
    html = message.html
    assert f'<a href="http://127.0.0.1:8000/portal/notices/{notice.reference}/">' in html
    assert "hxxp://files[.]lang-" in html
    assert "http://files.lang-" not in html + message.text


def test_mail_that_cannot_be_put_together_is_retried_visibly_and_nothing_is_sent(
    smtp_sink, queued, now, monkeypatch
):
    """Building the attachments fails (a bug, a broken row): the attempt is recorded as a retry with the
    error, nothing reaches SMTP, nothing is stored; the next attempt builds and sends the mail."""
    import notices.delivery.outbox as outbox

    notice, message, _ = queued

    def broken(*args, **kwargs):
        raise RuntimeError("no reports today")

    monkeypatch.setattr(outbox, "attach_reports", broken)
    assert claim_and_send(now) == ["pending"]

    refreshed(notice, message)
    assert (message.status, message.attempts, message.mime) == ("pending", 1, None)
    assert "building the mail failed: RuntimeError: no reports today" in message.last_error
    event = Event.objects.get(kind="notice.delivery_retry", notice=notice)
    assert "no reports today" in event.data["error"]
    assert smtp_sink.messages() == []

    monkeypatch.undo()
    assert claim_and_send(message.next_attempt_at) == ["sent"]
    assert len(smtp_sink.wait_for(1)) == 1


def test_sweep_sends_a_batch_over_one_connection_and_reconnects_after_a_refusal(
    smtp_sink, make_provider, make_case, queue, now, monkeypatch
):
    """The outbox sweep keeps one SMTP connection for its batch; a recipient refused for good closes it, and
    the next message opens a new one and is delivered."""
    import notices.delivery.outbox as outbox
    from notices.tasks import sweep_outbox

    notices = []
    for slug in ("first", "refused", "third"):
        provider = make_provider(slug, prefix=None)
        notices.append(
            queue(make_case(f"http://files.{slug}.example/a.html", provider=provider, when=now), now=now)
        )
    for seconds, notice in zip((3, 2, 1), notices, strict=True):  # claimed in this order
        notice.messages.update(next_attempt_at=now - timedelta(seconds=seconds))
    smtp_sink.rules = {"abuse@refused.example": "permfail"}
    opened = []
    real = outbox.get_connection
    monkeypatch.setattr(outbox, "get_connection", lambda **kw: opened.append(1) or real(**kw))

    assert sweep_outbox() == 3

    statuses = [n.messages.get().status for n in notices]
    assert statuses == ["sent", "failed", "sent"]
    assert sorted(m["To"] for m in smtp_sink.wait_for(2)) == ["abuse@first.example", "abuse@third.example"]
    assert len(opened) == 2  # first + refused share one; the refusal closed it; third opened another


@pytest.mark.parametrize("count", [0, 1, 7, 8, 9, 99, 100, 101, 199, 200, 201, 500, 1001])
def test_render_slices_cover_every_mail_once_and_end_small(count):
    from notices.delivery.outbox import LAST_SLICE, RENDER_SLICE, render_slices

    slices = render_slices(count)
    assert [i for start, stop in slices for i in range(start, stop)] == list(range(count))
    assert all(0 < stop - start <= RENDER_SLICE for start, stop in slices)
    if count:
        start, stop = slices[-1]
        assert stop - start <= LAST_SLICE  # what the transaction waits for at its end
    assert len(slices) <= count // RENDER_SLICE + 8  # no storm of tiny INSERTs
