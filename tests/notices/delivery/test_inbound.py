"""Inbound mail: replies, auto-replies and DSN bounces matched to their notice, built as real RFC 5322 / RFC
3464 messages; HTML reduced to text; idempotent on Message-ID; garbage and unreadable files survived."""

from __future__ import annotations

import io
from email.message import EmailMessage, Message

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from notices.models import Event, InboundMessage, Notice, ProviderContact
from notices.services.inbound import ingest_message


def _mail(
    subject: str,
    *,
    message_id: str = "<r1@mx.polder.example>",
    body: str = "We are looking into it.",
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Polder Abuse <abuse@polder.example>"
    msg["To"] = "notices@hotline.example"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def _dsn(
    original_message_id: str, *, recipient: str = "abuse@polder.example", status: str = "5.1.1"
) -> bytes:
    """An RFC 3464 delivery status notification for our message, with the original's headers attached."""
    report = EmailMessage()
    report["From"] = "Mail Delivery System <MAILER-DAEMON@mx.polder.example>"
    report["To"] = "notices@hotline.example"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Message-ID"] = "<dsn1@mx.polder.example>"
    report["Auto-Submitted"] = "auto-replied"
    report.set_content(
        "This is the mail system at host mx.polder.example. Your message could not be delivered."
    )
    status_part = Message()
    status_part.set_type("message/delivery-status")
    per_message = Message()
    per_message["Reporting-MTA"] = "dns; mx.polder.example"
    per_recipient = Message()
    per_recipient["Final-Recipient"] = f"rfc822; {recipient}"
    per_recipient["Action"] = "failed"
    per_recipient["Status"] = status
    per_recipient["Diagnostic-Code"] = "smtp; 550 5.1.1 <abuse@polder.example>: Recipient address rejected"
    status_part.set_payload([per_message, per_recipient])
    headers_part = EmailMessage()
    headers_part.set_content(
        f"Message-ID: {original_message_id}\r\nSubject: Hotline notice\r\n", subtype="rfc822-headers"
    )
    report.make_mixed()
    report.attach(status_part)
    report.attach(headers_part)
    report.replace_header(
        "Content-Type", report.get("Content-Type").replace("multipart/mixed", "multipart/report")
    )
    report.set_param("report-type", "delivery-status")
    return report.as_bytes()


def test_ingest_reply_matched_by_subject_reference(queued, now):
    notice, _, _ = queued
    row = ingest_message(_mail(f"Re: [{notice.reference}] Hotline notice"), now=now)
    assert (row.kind, row.notice, row.from_address) == (
        "reply",
        notice,
        "Polder Abuse <abuse@polder.example>",
    )
    assert row.text == "We are looking into it.\n"
    event = Event.objects.get(kind="notice.reply")
    assert (event.notice, event.data["inbound_message"]) == (notice, row.pk)


def test_ingest_reply_matched_by_in_reply_to(queued, now):
    notice, message, _ = queued
    row = ingest_message(_mail("Re: your mail", In_Reply_To=message.message_id), now=now)
    assert (row.kind, row.notice) == ("reply", notice)


def test_ingest_auto_reply_stores_provider_ticket(queued, now):
    notice, _, _ = queued
    raw = _mail(
        f"[Ticket#2026112712345] Re: [{notice.reference}] Hotline notice", Auto_Submitted="auto-replied"
    )
    row = ingest_message(raw, now=now)
    assert (row.kind, row.provider_ticket) == ("auto_reply", "2026112712345")
    assert Notice.objects.get(pk=notice.pk).provider_ticket == "2026112712345"
    assert Event.objects.get(kind="notice.auto_reply").data["provider_ticket"] == "2026112712345"


def test_ingest_auto_reply_keeps_existing_ticket(queued, now):
    notice, _, _ = queued
    Notice.objects.filter(pk=notice.pk).update(provider_ticket="ABC-1")
    row = ingest_message(_mail(f"Automatic reply: {notice.reference} Ticket: ABC-123"), now=now)
    assert (row.kind, row.provider_ticket) == ("auto_reply", "ABC-123")
    assert Notice.objects.get(pk=notice.pk).provider_ticket == "ABC-1"


def test_ingest_dsn_bounce_marks_contact_failing(queued, now):
    notice, message, _ = queued
    row = ingest_message(_dsn(message.message_id), now=now)
    assert (row.kind, row.notice, row.bounced_recipients, row.bounce_status) == (
        "bounce",
        notice,
        ["abuse@polder.example"],
        "5.1.1",
    )
    contact = ProviderContact.objects.get(email="abuse@polder.example")
    assert (contact.failing, contact.failed_at) == (True, now)
    assert "Recipient address rejected" in contact.failure_reason
    event = Event.objects.get(kind="notice.bounced")
    assert (event.notice, event.data["recipients"]) == (notice, ["abuse@polder.example"])


def test_ingest_dsn_delay_marks_nothing(queued, now):
    _, message, _ = queued
    row = ingest_message(_dsn(message.message_id, status="4.4.1"), now=now)
    assert (row.kind, row.bounced_recipients) == ("bounce", [])
    assert ProviderContact.objects.get(email="abuse@polder.example").failing is False
    assert not Event.objects.filter(kind="notice.bounced").exists()


def test_ingest_html_only_reply_stored_as_text(queued, now):
    notice, _, _ = queued
    msg = EmailMessage()
    msg["From"] = "abuse@polder.example"
    msg["Subject"] = f"Re: [{notice.reference}]"
    msg["Message-ID"] = "<html1@mx.polder.example>"
    msg.set_content(
        "<html><head><style>p{color:red}</style></head><body><p>Removed &amp; <b>closed</b>.</p>"
        "<script>alert(1)</script><p>Regards</p></body></html>",
        subtype="html",
    )
    row = ingest_message(msg.as_bytes(), now=now)
    assert row.text == "Removed & closed.\n\nRegards"


def test_ingest_unmatched_mail_kept(db, now):
    row = ingest_message(_mail("Question about your service"), now=now)
    assert (row.kind, row.notice) == ("unmatched", None)
    assert not Event.objects.exists()


def test_ingest_same_message_id_twice_one_row(queued, now):
    notice, _, _ = queued
    raw = _mail(f"Re: [{notice.reference}]")
    first = ingest_message(raw, now=now)
    assert ingest_message(raw, now=now) == first
    assert (InboundMessage.objects.count(), Event.objects.filter(kind="notice.reply").count()) == (1, 1)


def test_ingest_garbage_bytes_no_exception(db, now):
    row = ingest_message(b"\x00\xff\xfe\x80 not a mail\r\n\r\n\x00\xc3(", now=now)
    assert (row.kind, row.notice) == ("unmatched", None)
    assert row.message_id.endswith("@inbound.invalid>")
    assert "\x00" not in row.text


def test_ingest_mail_command_reports_unreadable_file_and_continues(queued, tmp_path, now):
    notice, message, _ = queued
    (tmp_path / "1-reply.eml").write_bytes(_mail(f"Re: [{notice.reference}]"))
    (tmp_path / "2-bounce.eml").write_bytes(_dsn(message.message_id))
    missing = tmp_path / "missing.eml"
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 file"):
        call_command("ingest_mail", str(tmp_path), str(missing), stdout=out, stderr=err)
    assert out.getvalue().splitlines() == [
        f"{tmp_path / '1-reply.eml'}: reply {notice.reference}",
        f"{tmp_path / '2-bounce.eml'}: bounce {notice.reference}",
        "Ingested 2 message(s): 1 bounce, 1 reply.",
    ]
    assert str(missing) in err.getvalue()
    assert InboundMessage.objects.count() == 2


def test_inbound_admin_shows_text_escaped(queued, now, client, django_user_model):
    notice, _, _ = queued
    row = ingest_message(_mail(f"Re: [{notice.reference}]", body="<script>alert(1)</script>"), now=now)
    client.force_login(django_user_model.objects.create_superuser("super", password="super-pass-123"))
    page = client.get(reverse("admin:notices_inboundmessage_change", args=[row.pk]))
    assert page.status_code == 200
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page.content
    assert b"<script>alert(1)" not in page.content
    assert client.get(reverse("admin:notices_notice_change", args=[notice.pk])).status_code == 200


def test_ingest_mail_command_reads_stdin(queued, monkeypatch, now):
    notice, _, _ = queued
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(_mail(f"Re: [{notice.reference}]"))))
    out = io.StringIO()
    call_command("ingest_mail", "-", stdout=out)
    assert out.getvalue().splitlines() == [f"-: reply {notice.reference}", "Ingested 1 message(s): 1 reply."]
