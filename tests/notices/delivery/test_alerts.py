"""Analyst alerts when a notice cannot be delivered: the outbox giving up (5xx, attempts used up) and DSN
bounces write a timeline event and, after commit, a plain-text mail to the analysts through the real SMTP
sink; a temporary failure alerts no one; the mail names reference, provider, contact, error and admin link,
and never a reported URL as it is."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from notices.delivery.outbox import claim_due_messages
from notices.models import Event, OutgoingMessage
from notices.services.alerts import alert_delivery_failed, alert_recipients, defang_text
from notices.services.delivery import send_claimed
from notices.services.inbound import ingest_message
from notices.services.notices import create_notices, queue_notice
from notices.tasks import send_analyst_alert_task


@pytest.fixture(autouse=True)
def _analysts(settings, analyst, django_user_model):
    """The analyst has an address; a staff user without one and an inactive one are never mailed."""
    settings.ANALYST_ALERT_EMAILS = []
    settings.PUBLIC_BASE_URL = "https://tracker.hotline.example"
    analyst.email = "analyst@hotline.example"
    analyst.save(update_fields=["email"])
    django_user_model.objects.create_user("no-mail", is_staff=True)
    django_user_model.objects.create_user(
        "gone", email="gone@hotline.example", is_staff=True, is_active=False
    )
    django_user_model.objects.create_user("desk", email="desk@polder.example")  # not staff


def claim_and_send(now) -> list[str]:
    return [send_claimed(message_id) for message_id in claim_due_messages(now=now, limit=10)]


def run_alert_callbacks(callbacks) -> list[str]:
    """The alert task for each alert written, run here (a worker would); the captured on-commit callbacks
    prove it is enqueued only after commit."""
    events = list(Event.objects.filter(kind="notice.analyst_alert").order_by("pk"))
    assert len(callbacks) == len(events)
    return [send_analyst_alert_task.apply(args=[event.pk]).get() for event in events]


def test_permanent_failure_alerts_analysts_by_mail(
    smtp_sink, queued, now, django_capture_on_commit_callbacks
):
    notice, _, _ = queued
    smtp_sink.rules = {"abuse@polder.example": "permfail"}

    with django_capture_on_commit_callbacks() as callbacks:
        assert claim_and_send(now) == ["failed"]

    assert run_alert_callbacks(callbacks) == ["sent"]
    (mail,) = smtp_sink.wait_for(1)
    assert (mail["X-Sink-Rcpt-To"], mail["Subject"], mail["Auto-Submitted"]) == (
        "analyst@hotline.example",
        f"[{notice.reference}] Notice could not be delivered: Polder Hosting",
        "auto-generated",
    )
    assert (mail.get_content_type(), mail.is_multipart()) == ("text/plain", False)
    body = mail.get_content()
    error = "recipients refused: {'abuse@polder.example': (550, b'5.1.1 User unknown')}"
    assert body.splitlines()[:7] == [
        f"The notice {notice.reference} to Polder Hosting (polder) could not be delivered.",
        "",
        f"Notice:    {notice.reference} (Hotline notice)",
        "Provider:  Polder Hosting (polder, NL)",
        "Contacts:  abuse@polder.example",
        f"Error:     {error}",
        body.splitlines()[6],
    ]
    assert f"https://tracker.hotline.example/admin/notices/notice/{notice.pk}/change/" in body
    assert "files.polder.example" not in body and "files[.]polder" not in body  # no URL, no content
    event = Event.objects.get(kind="notice.analyst_alert")
    assert (event.notice, event.data["reason"], event.data["contacts"], event.data["error"]) == (
        notice,
        "delivery_failed",
        ["abuse@polder.example"],
        error,
    )
    mailed = Event.objects.get(kind="notice.analyst_alert_mailed")
    assert (mailed.notice, mailed.data) == (
        notice,
        {"alert": event.pk, "mailed_to": ["analyst@hotline.example"]},
    )
    assert list(Event.objects.filter(notice=notice).order_by("pk").values_list("kind", flat=True))[-3:] == [
        "notice.delivery_failed",
        "notice.analyst_alert",
        "notice.analyst_alert_mailed",
    ]


def test_temporary_failure_alerts_no_one(smtp_sink, queued, now, django_capture_on_commit_callbacks):
    smtp_sink.mode = "tempfail"

    with django_capture_on_commit_callbacks() as callbacks:
        assert claim_and_send(now) == ["pending"]

    assert callbacks == []
    assert Event.objects.filter(kind="notice.analyst_alert").count() == 0


@pytest.mark.usefixtures("queued")
def test_attempts_used_up_alerts_analysts(smtp_sink, now, settings, django_capture_on_commit_callbacks):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    smtp_sink.mode = "tempfail"

    with django_capture_on_commit_callbacks() as callbacks:
        assert claim_and_send(now) == ["failed"]

    smtp_sink.mode = "accept"
    assert run_alert_callbacks(callbacks) == ["sent"]
    (mail,) = smtp_sink.wait_for(1)
    assert "Contacts:  abuse@polder.example" in mail.get_content()
    assert "451" in mail.get_content()


DSN = """From: Mail Delivery System <MAILER-DAEMON@mx.polder.example>
To: notices@hotline.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-alert@mx.polder.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Your message could not be delivered.
--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.polder.example

Final-Recipient: rfc822; abuse@polder.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <abuse@polder.example>: Recipient address rejected

--b1
Content-Type: text/rfc822-headers

Message-ID: {message_id}
Subject: Hotline notice

--b1--
"""


def test_dsn_bounce_alerts_analysts(smtp_sink, queued, now, django_capture_on_commit_callbacks):
    notice, message, _ = queued

    with django_capture_on_commit_callbacks() as callbacks:
        row = ingest_message(DSN.format(message_id=message.message_id).encode(), now=now)

    assert (row.kind, row.notice, row.bounced_recipients) == ("bounce", notice, ["abuse@polder.example"])
    assert run_alert_callbacks(callbacks) == ["sent"]
    (mail,) = smtp_sink.wait_for(1)
    assert mail["Subject"] == f"[{notice.reference}] Notice bounced: Polder Hosting"
    body = mail.get_content()
    assert "Contacts:  abuse@polder.example" in body
    assert (
        "Error:     bounce 5.1.1: smtp; 550 5.1.1 <abuse@polder.example>: Recipient address rejected" in body
    )
    event = Event.objects.get(kind="notice.analyst_alert")
    assert (event.data["reason"], event.data["contacts"]) == ("bounced", ["abuse@polder.example"])


def test_dsn_bounce_ingested_twice_alerts_once(queued, now, django_capture_on_commit_callbacks):
    _, message, _ = queued
    raw = DSN.format(message_id=message.message_id).encode()

    with django_capture_on_commit_callbacks() as callbacks:
        ingest_message(raw, now=now)
        ingest_message(raw, now=now)

    assert len(callbacks) == 1
    assert Event.objects.filter(kind="notice.analyst_alert").count() == 1


def test_alert_mail_defangs_urls_quoted_in_the_error(
    smtp_sink, queued, now, django_capture_on_commit_callbacks
):
    notice, _, _ = queued
    error = (
        "554 5.7.1 Rejected: message links to http://files.polder.example/a.html and cdn.polder.example/x.jpg"
    )

    with django_capture_on_commit_callbacks() as callbacks:
        alert_delivery_failed(notice=notice, contacts=["abuse@polder.example"], error=error, now=now)

    assert run_alert_callbacks(callbacks) == ["sent"]
    body = smtp_sink.wait_for(1)[0].get_content()
    assert (
        "Error:     554 5.7.1 Rejected: message links to hxxp://files[.]polder[.]example/a.html and "
        "cdn[.]polder[.]example/x.jpg"
    ) in body
    assert "polder.example/" not in body


def test_defang_text_leaves_addresses_and_codes():
    assert defang_text("550 5.1.1 <abuse@polder.example>: User unknown") == (
        "550 5.1.1 <abuse@polder.example>: User unknown"
    )
    assert defang_text("see https://x.example/a?b=c.") == "see hxxps://x[.]example/a?b=c."


def test_alert_recipients_default_active_staff_with_mail(django_user_model):
    django_user_model.objects.create_user("boss", email="boss@hotline.example", is_staff=True)

    assert alert_recipients() == ["analyst@hotline.example", "boss@hotline.example"]


def test_alert_recipients_setting_wins(settings):
    settings.ANALYST_ALERT_EMAILS = ["duty@hotline.example"]

    assert alert_recipients() == ["duty@hotline.example"]


def test_alert_sent_once_even_if_the_task_runs_again(
    smtp_sink, queued, now, django_capture_on_commit_callbacks
):
    notice, _, _ = queued
    with django_capture_on_commit_callbacks():
        event = alert_delivery_failed(notice=notice, contacts=["abuse@polder.example"], error="550", now=now)

    assert send_analyst_alert_task.apply(args=[event.pk]).get() == "sent"
    assert send_analyst_alert_task.apply(args=[event.pk]).get() == "already-sent"
    assert len(smtp_sink.wait_for(1)) == 1


def test_alert_without_recipients_is_only_the_event(
    smtp_sink, queued, now, analyst, django_capture_on_commit_callbacks
):
    notice, _, _ = queued
    analyst.email = ""
    analyst.save(update_fields=["email"])
    with django_capture_on_commit_callbacks():
        event = alert_delivery_failed(notice=notice, contacts=["abuse@polder.example"], error="550", now=now)

    assert send_analyst_alert_task.apply(args=[event.pk]).get() == "no-recipients"
    assert smtp_sink.messages() == []


def test_alert_task_smtp_error_retries_then_gives_up(
    smtp_sink, queued, now, settings, django_capture_on_commit_callbacks
):
    settings.ANALYST_ALERT_MAX_RETRIES = 2
    notice, _, _ = queued
    smtp_sink.rules = {"analyst@hotline.example": "tempfail"}
    with django_capture_on_commit_callbacks():
        event = alert_delivery_failed(notice=notice, contacts=["abuse@polder.example"], error="550", now=now)

    result = send_analyst_alert_task.apply(args=[event.pk])

    assert (result.state, type(result.result).__name__) == ("FAILURE", "SMTPRecipientsRefused")
    assert not Event.objects.filter(kind="notice.analyst_alert_mailed").exists()
    assert smtp_sink.messages() == []


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_permanent_failure_alert_from_real_worker_retries_until_delivered(
    start_worker, make_case, provider, smtp_sink, now, settings
):
    """The whole path in a real worker: the notice is refused (5xx), the alert task's first SMTP attempt is
    refused (4xx) and retried with backoff until the analysts' server takes it."""
    smtp_sink.rules = {"abuse@polder.example": "permfail", "duty@hotline.example": "tempfail"}
    worker = start_worker(
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=settings.EMAIL_PORT,
        ANALYST_ALERT_EMAILS="duty@hotline.example",
        ANALYST_ALERT_RETRY_BASE=1,
    )
    (notice,) = create_notices(
        urls=[make_case(provider=provider, when=now)], notice_type="hotline_notice", now=now
    )
    queue_notice(notice=notice, now=now)  # delivery task after commit → 550 → alert task after commit

    log = Path(worker.log_file.name)
    wait_until(lambda: b"analyst alert" in log.read_bytes() and b"(retry 1)" in log.read_bytes())
    smtp_sink.rules = {"abuse@polder.example": "permfail"}

    (mail,) = smtp_sink.wait_for(1, timeout=20)
    assert (mail["X-Sink-Rcpt-To"], mail["Subject"]) == (
        "duty@hotline.example",
        f"[{notice.reference}] Notice could not be delivered: Polder Hosting",
    )
    assert OutgoingMessage.objects.get(notice=notice).status == "failed"
    mailed = wait_until(lambda: Event.objects.filter(kind="notice.analyst_alert_mailed").first())
    alert = Event.objects.get(kind="notice.analyst_alert", notice=notice)
    assert mailed.data == {"alert": alert.pk, "mailed_to": ["duty@hotline.example"]}


def wait_until(predicate, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")
