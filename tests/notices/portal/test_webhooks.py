"""Webhooks: new notices POSTed as signed JSON to the provider's URL, SSRF-guarded, retries in the
database."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from notices.delivery.webhooks import (
    WebhookError,
    claim_due_deliveries,
    enqueue_new_deliveries,
    register_webhook,
    validate_webhook_url,
)
from notices.models import WebhookDelivery
from notices.services.webhooks import deliver

pytestmark = pytest.mark.django_db


class Receiver:
    """A real HTTP server on loopback that records POSTs and answers with `status`."""

    def __init__(self, status: int = 204) -> None:
        self.status, self.requests = status, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.path, dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/tracker"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # loopback receiver: tests only
    server = Receiver()
    yield server
    server.close()


def _sweep(now) -> list[str]:
    enqueue_new_deliveries(now=now, limit=100)
    return [deliver(pk) for pk in claim_due_deliveries(now=now, limit=100)]


def test_webhook_delivers_signed_notice_once(receiver, provider, sent_notice, other_sent_notice, now):
    endpoint = register_webhook(
        provider=provider, url=receiver.url, created_by=None, now=sent_notice.created_at
    )
    assert _sweep(now) == ["delivered"]
    assert _sweep(now + timedelta(minutes=1)) == []  # never twice
    ((path, headers, body),) = receiver.requests
    assert path == "/hooks/tracker"
    payload = json.loads(body)
    assert (payload["event"], payload["notice"]["reference"]) == ("notice.created", sent_notice.reference)
    assert other_sent_notice.reference not in body.decode()
    timestamp, signature = (part.split("=", 1)[1] for part in headers["X-Takedown-Signature"].split(","))
    expected = hmac.new(endpoint.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 204)


def test_webhook_only_notices_sent_after_registration(receiver, provider, sent_notice, now):
    register_webhook(provider=provider, url=receiver.url, created_by=None, now=now + timedelta(seconds=1))
    assert _sweep(now + timedelta(seconds=2)) == []


def test_webhook_failure_retries_with_backoff_then_gives_up(receiver, provider, sent_notice, now, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    settings.WEBHOOK_RETRY_BASE = 60
    receiver.status = 500
    register_webhook(provider=provider, url=receiver.url, created_by=None, now=sent_notice.created_at)
    assert _sweep(now) == ["pending"]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.last_status_code, delivery.last_error) == (500, "HTTP 500")
    assert _sweep(now + timedelta(seconds=30)) == []  # not due yet: backoff kept in the database
    assert [deliver(pk) for pk in claim_due_deliveries(now=delivery.next_attempt_at, limit=10)] == ["failed"]
    assert WebhookDelivery.objects.get().attempts == 2


def test_webhook_refuses_private_addresses(provider, sent_notice, now, settings, dns_server):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    for url in (
        "http://127.0.0.1/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest",
        "ftp://hooks.example/",
    ):
        with pytest.raises(WebhookError):
            validate_webhook_url(url)
    dns_server.set_record("hooks.polder.example", "A", ["10.0.0.7"])  # a name that leads inside
    register_webhook(
        provider=provider, url="http://hooks.polder.example/in", created_by=None, now=sent_notice.created_at
    )
    assert _sweep(now) == ["pending"]
    assert WebhookDelivery.objects.get().last_error.startswith("BlockedTarget: 10.0.0.7")


def test_webhook_set_in_portal_shows_secret_once(desk_client, receiver):
    response = desk_client.post("/portal/webhook/", {"url": receiver.url})
    secret = response.context["secret"]
    assert secret.startswith("whsec_") and secret in response.content.decode()
    assert secret not in desk_client.get("/portal/webhook/").content.decode()
    desk_client.post("/portal/webhook/disable/")
    assert desk_client.get("/portal/webhook/").context["endpoint"] is None


def test_webhook_portal_refuses_private_url(desk_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    response = desk_client.post("/portal/webhook/", {"url": "http://192.168.1.1/hook"})
    assert response.status_code == 400
    assert response.context["form"].errors == {"url": ["This address is private or reserved."]}


def test_webhook_to_a_replaced_endpoint_is_not_retried(receiver, provider, sent_notice, now, settings):
    receiver.status = 500
    old = register_webhook(provider=provider, url=receiver.url, created_by=None, now=sent_notice.created_at)
    assert _sweep(now) == ["pending"]
    register_webhook(provider=provider, url=receiver.url + "/v2", created_by=None, now=now)
    delivery = WebhookDelivery.objects.get(endpoint=old)
    assert (delivery.status, delivery.next_attempt_at) == ("failed", None)
    assert "replaced" in delivery.last_error
    later = now + timedelta(days=1)
    assert [deliver(pk) for pk in claim_due_deliveries(now=later, limit=10)] == []
    assert len(receiver.requests) == 1


def test_webhook_held_by_a_worker_when_its_endpoint_is_replaced_is_not_sent(
    receiver, provider, sent_notice, now
):
    register_webhook(provider=provider, url=receiver.url, created_by=None, now=sent_notice.created_at)
    enqueue_new_deliveries(now=now, limit=10)
    (pk,) = claim_due_deliveries(now=now, limit=10)
    register_webhook(provider=provider, url=receiver.url + "/v2", created_by=None, now=now)
    assert deliver(pk) == "failed"
    assert receiver.requests == []


def test_webhook_left_in_doubt_by_a_dead_worker_is_sent_again_counted(
    receiver, provider, sent_notice, now, settings, monkeypatch
):
    from notices.infra import claims

    register_webhook(provider=provider, url=receiver.url, created_by=None, now=sent_notice.created_at)
    enqueue_new_deliveries(now=now, limit=10)
    (pk,) = claim_due_deliveries(now=now, limit=10)
    assert WebhookDelivery.objects.get(pk=pk).claimed_by == claims.owner()
    WebhookDelivery.objects.filter(pk=pk).update(in_doubt_since=now)  # POSTed, then the worker died
    monkeypatch.setattr(claims, "_OWNER", None)  # a second worker
    assert (
        claim_due_deliveries(now=now + timedelta(seconds=settings.WEBHOOK_CLAIM_TIMEOUT - 1), limit=10) == []
    )
    takeover = now + timedelta(seconds=settings.WEBHOOK_CLAIM_TIMEOUT + 1)
    assert [deliver(p) for p in claim_due_deliveries(now=takeover, limit=10)] == ["delivered"]
    delivery = WebhookDelivery.objects.get(pk=pk)
    assert (delivery.status, delivery.duplicates, delivery.in_doubt_since) == ("delivered", 1, None)
    ((_, headers, _),) = receiver.requests
    assert headers["X-Takedown-Delivery"] == str(pk)  # the receiver can tell the copies apart
