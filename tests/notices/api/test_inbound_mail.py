"""`POST /api/v1/inbound/mail/`: an MTA pipes raw mail in with an inbound-mail key; replies and bounces are
matched as `ingest_mail` matches them; anything but a mail message, a wrong key or a body too large is a
4xx."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from notices.api.schema import ERROR_RESPONSES
from notices.models import Event, InboundMessage, ProviderContact
from notices.tasks import send_analyst_alert_task

URL = "/api/v1/inbound/mail/"


@pytest.fixture
def inbound_api(key_client, analyst):
    return key_client(scope="inbound", user=analyst)


@pytest.fixture
def queued(make_case, make_notice, provider, now):
    """A notice to `provider` (e-mail) in the outbox: (notice, its message)."""
    notice = make_notice(make_case(provider=provider, when=now), now=now)
    return notice, notice.messages.get()


def reply(subject: str, *, message_id: str = "<r1@mx.polder.example>", **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Polder Abuse <abuse@polder.example>"
    msg["To"] = "notices@hotline.example"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("We are looking into it.")
    return msg.as_bytes()


def bounce(original_message_id: str) -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.polder.example>\r\n"
        "To: notices@hotline.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-api@mx.polder.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.polder.example\r\n\r\n"
        "Final-Recipient: rfc822; abuse@polder.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
        "--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: "
        f"{original_message_id}\r\n\r\n--b1--\r\n"
    ).encode()


def post(client: APIClient, body: bytes, content_type: str = "message/rfc822"):
    return client.post(URL, data=body, content_type=content_type)


def test_inbound_mail_reply_matched(inbound_api, queued):
    notice, _ = queued

    response = post(inbound_api, reply(f"Re: [{notice.reference}] Hotline notice"))

    row = InboundMessage.objects.get()
    assert (response.status_code, response.json()) == (
        202,
        {
            "id": row.pk,
            "message_id": "<r1@mx.polder.example>",
            "kind": "reply",
            "notice": notice.reference,
            "provider_ticket": "",
            "bounced_recipients": [],
            "duplicate": False,
        },
    )
    assert (row.notice, row.text) == (notice, "We are looking into it.\n")
    assert Event.objects.get(kind="notice.reply").notice == notice


def test_inbound_mail_auto_reply_with_ticket(inbound_api, queued):
    notice, message = queued
    raw = reply(
        "[Ticket#4711] Automatic reply", In_Reply_To=message.message_id, Auto_Submitted="auto-replied"
    )

    body = post(inbound_api, raw).json()

    assert (body["kind"], body["notice"], body["provider_ticket"]) == ("auto_reply", notice.reference, "4711")


def test_inbound_mail_same_message_twice_is_a_duplicate(inbound_api, queued):
    notice, _ = queued
    raw = reply(f"Re: [{notice.reference}]")
    first = post(inbound_api, raw).json()

    response = post(inbound_api, raw)

    assert (response.status_code, response.json()) == (202, {**first, "duplicate": True})
    assert InboundMessage.objects.count() == 1


def test_inbound_mail_unmatched_is_kept(inbound_api, db):
    response = post(inbound_api, reply("Hello"))

    assert (response.status_code, response.json()["kind"], response.json()["notice"]) == (
        202,
        "unmatched",
        None,
    )


def test_inbound_mail_bounce_marks_contact_and_alerts(
    inbound_api, queued, smtp_sink, analyst, django_capture_on_commit_callbacks
):
    notice, message = queued
    analyst.email = "analyst@hotline.example"
    analyst.save(update_fields=["email"])

    with django_capture_on_commit_callbacks() as callbacks:
        response = post(inbound_api, bounce(message.message_id))

    assert (response.status_code, response.json()["kind"], response.json()["notice"]) == (
        202,
        "bounce",
        notice.reference,
    )
    assert response.json()["bounced_recipients"] == ["abuse@polder.example"]
    assert ProviderContact.objects.get(email="abuse@polder.example").failing is True
    alert = Event.objects.get(kind="notice.analyst_alert")
    assert (alert.notice, alert.data["reason"], len(callbacks)) == (notice, "bounced", 1)
    assert send_analyst_alert_task.apply(args=[alert.pk]).get() == "sent"
    (mail,) = smtp_sink.wait_for(1)
    assert mail["Subject"] == f"[{notice.reference}] Notice bounced: Polder Hosting"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", "The body is empty; send the raw message (RFC 5322) as it was received."),
        (
            b"\x00\x01\x02 not a mail at all",
            "The body does not start with a mail header block (Name: value lines, then a blank line).",
        ),
        (
            b"<html><body>hello</body></html>",
            "The body does not start with a mail header block (Name: value lines, then a blank line).",
        ),
        (b"Subject: no sender\r\n\r\nhi", "The message has no From header."),
    ],
    ids=["empty", "binary", "html", "no-from"],
)
def test_inbound_mail_not_a_mail_is_422(inbound_api, body, detail):
    response = post(inbound_api, body)

    assert (response.status_code, response.json()) == (422, {"detail": detail})
    assert InboundMessage.objects.count() == 0


def test_inbound_mail_wrong_content_type_is_415(inbound_api):
    response = post(inbound_api, reply("Hello"), content_type="text/plain")

    assert response.status_code == 415
    assert InboundMessage.objects.count() == 0


def test_inbound_mail_oversized_is_413(inbound_api, settings):
    settings.INBOUND_MAIL_MAX_BYTES = 2048
    raw = reply("Big") + b"x" * 4096

    response = post(inbound_api, raw)

    assert (response.status_code, response.json()) == (
        413,
        {"detail": "Message larger than INBOUND_MAIL_MAX_BYTES (2048 bytes)."},
    )
    assert InboundMessage.objects.count() == 0


@pytest.mark.parametrize("owner", ["staff_api", "partner_api", "provider_api"])
def test_inbound_mail_other_scopes_are_403(request, owner):
    client = request.getfixturevalue(owner)

    response = post(client, reply("Hello"))

    assert response.status_code == 403
    assert response.json()["detail"].startswith("This endpoint needs an inbound-mail API key")
    assert InboundMessage.objects.count() == 0


def test_inbound_mail_without_key_is_401(api_client, db):
    response = post(api_client, reply("Hello"))

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_inbound_key_is_refused_elsewhere(inbound_api):
    assert inbound_api.get("/api/v1/notices/").status_code == 403


def test_inbound_key_dies_with_its_owners_staff_status(inbound_api, analyst):
    analyst.is_staff = False
    analyst.save(update_fields=["is_staff"])

    assert post(inbound_api, reply("Hello")).status_code == 401


def test_create_api_key_inbound_mail_key_works(analyst, capsys):
    call_command("create_api_key", "--user", "analyst", "--inbound-mail")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {capsys.readouterr().out.strip()}")

    assert post(client, reply("Hello")).status_code == 202


def test_schema_publishes_the_inbound_endpoint(api_client, db):
    schema = api_client.get("/api/schema/?format=json").json()

    operation = schema["paths"]["/api/v1/inbound/mail/"]["post"]
    assert list(operation["requestBody"]["content"]) == ["message/rfc822"]
    assert set(operation["responses"]) == {"202", "413", "415", "422"} | set(ERROR_RESPONSES)
