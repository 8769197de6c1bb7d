"""Delivery faults end to end against a real SMTP server: the server down for an hour, a contact whose address
is not one. Nothing is lost, nothing is sent twice, and each case is visible to the analyst."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest

from notices.delivery.outbox import claim_due_messages
from notices.models import Event, OutgoingMessage, ProviderContact
from notices.services.delivery import send_claimed


@pytest.fixture(autouse=True)
def _hotline(settings):
    settings.DEFAULT_FROM_EMAIL = "Test Hotline <notices@hotline.example>"
    settings.ANALYST_ALERT_EMAILS = ["analysts@hotline.example"]


def closed_port() -> int:
    """A local port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def send_due(at) -> list[str]:
    return [send_claimed(message_id) for message_id in claim_due_messages(now=at, limit=10)]


def test_smtp_down_for_an_hour_retries_with_backoff_then_delivers_once(smtp_sink, queued, settings):
    notice, message, _ = queued
    sink_port, settings.EMAIL_PORT = settings.EMAIL_PORT, closed_port()
    waits = []  # seconds from each failed attempt to the next one
    at = message.next_attempt_at
    while sum(waits) < 3600:
        assert send_due(at) == ["pending"]
        message.refresh_from_db()
        failed_at = Event.objects.filter(notice=notice, kind="notice.delivery_retry").latest("pk").at
        waits.append((message.next_attempt_at - failed_at).total_seconds())
        assert message.status == "pending" and "Connection" in message.last_error
        assert send_due(message.next_attempt_at - timedelta(seconds=1)) == []  # not before its time
        at = message.next_attempt_at

    # Exponential backoff kept in the database: 1, 2, 4, … minutes; six failed attempts cover the hour.
    assert waits == [60, 120, 240, 480, 960, 1920]
    assert Event.objects.filter(notice=notice, kind="notice.delivery_retry").count() == 6
    notice.refresh_from_db()
    assert notice.status == "queued"

    settings.EMAIL_PORT = sink_port  # the server is back
    assert send_due(at) == ["sent"]
    assert send_due(at + timedelta(days=1)) == []
    (mail,) = smtp_sink.messages()
    assert mail["Message-ID"].strip() == message.message_id
    notice.refresh_from_db()
    assert (notice.status, OutgoingMessage.objects.get().status) == ("sent", "sent")
    assert not Event.objects.filter(kind="notice.analyst_alert").exists()  # a delay, not a failure


def test_contact_with_an_invalid_address_fails_visibly_and_is_marked(
    smtp_sink, make_case, provider, queue, now
):
    """An address that is not one (it came in through an old import, say) is refused by the server: the notice
    fails, the contact is marked failing with the reply, and the analysts are alerted — nothing is retried
    forever and no other provider is affected."""
    ProviderContact.objects.filter(provider=provider).update(email="abuse@@polder.example")
    notice = queue(make_case("http://files.polder.example/a.html", provider=provider, when=now), now=now)

    assert send_due(now) == ["failed"]

    notice.refresh_from_db()
    contact = ProviderContact.objects.get(provider=provider)
    assert notice.status == "failed"
    assert contact.failing and contact.failure_reason.startswith("5")
    event = Event.objects.get(notice=notice, kind="notice.delivery_failed")
    assert "abuse@@polder.example" in event.data["error"]
    assert Event.objects.filter(notice=notice, kind="notice.analyst_alert").exists()
    assert smtp_sink.messages() == []
