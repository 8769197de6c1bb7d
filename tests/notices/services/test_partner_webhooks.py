"""Partner webhooks: a partner hears, signed, when a case it reported is noticed, removed or closed — and
never about another partner's reports."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from notices.checks.classify import Outcome
from notices.models import Partner, PartnerWebhookDelivery
from notices.services import partner_webhooks
from tests.conftest import _key_client
from tests.notices.api.test_receipts import observe
from tests.notices.portal.test_webhooks import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # loopback receiver: tests only
    server = Receiver()
    yield server
    server.close()


def _sweep(now) -> list[str]:
    return [partner_webhooks.deliver(pk) for pk in partner_webhooks.claim_due(now=now, limit=100)]


def _report(partner: Partner, url: str) -> str:
    client = _key_client(scope="partner", partner=partner)
    response = client.post("/api/v1/reports/", {"url": url}, format="json")
    assert response.status_code == 201
    return response.json()["receipt"]


def _verify(secret: str, headers: dict, body: bytes) -> bool:
    timestamp, signature = (part.split("=", 1)[1] for part in headers["X-Takedown-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature, expected)


def test_partner_webhook_signs_noticed_and_removed_for_its_own_reports_only(
    receiver, api_only, make_case, make_notice, now, settings
):
    from notices.services.checking import record_observations

    settings.REMOVAL_CONFIRMATIONS, settings.REMOVAL_MIN_SPACING = 2, 60
    mine = partner_webhooks.set_partner_webhook(partner=Partner.objects.create(name="Mine"), url=receiver.url)
    other = partner_webhooks.set_partner_webhook(
        partner=Partner.objects.create(name="Other"), url=receiver.url + "/other"
    )
    case = make_case("http://files.polder.example/w.jpg", provider=api_only, when=now)
    receipt = _report(mine, "http://files.polder.example/w.jpg")
    _report(other, "http://files.polder.example/elsewhere.jpg")  # a case of its own, never noticed here
    make_notice(case, now=now)

    assert _sweep(now) == ["delivered"]
    gone = now + timedelta(hours=2)
    record_observations([observe(case, Outcome.GONE, gone)], now=gone)
    record_observations([observe(case, Outcome.GONE, gone + timedelta(minutes=5))], now=gone)
    assert _sweep(now) == ["delivered"]
    assert _sweep(now + timedelta(hours=1)) == []  # each event once

    assert [path for path, _, _ in receiver.requests] == ["/hooks/tracker", "/hooks/tracker"]
    events = []
    for _, headers, body in receiver.requests:
        assert _verify(mine.webhook_secret, headers, body)
        assert not _verify(other.webhook_secret, headers, body)
        payload = json.loads(body)
        assert headers["X-Takedown-Event"] == payload["event"]
        assert [r["receipt"] for r in payload["reports"]] == [receipt]
        events.append((payload["event"], payload["reports"][0]["case"]["status"]))
    assert events == [("case.noticed", "notified"), ("case.removed", "removed")]


def test_partner_webhook_tells_each_partner_of_a_shared_case_about_its_own_receipts(
    receiver, api_only, make_case, make_notice, now
):
    first = partner_webhooks.set_partner_webhook(
        partner=Partner.objects.create(name="First"), url=receiver.url
    )
    second = partner_webhooks.set_partner_webhook(
        partner=Partner.objects.create(name="Second"), url=receiver.url + "/second"
    )
    case = make_case("http://files.polder.example/shared.jpg", provider=api_only, when=now)
    receipts = {p.pk: _report(p, "http://files.polder.example/shared.jpg") for p in (first, second)}
    make_notice(case, now=now)

    assert sorted(_sweep(now)) == ["delivered", "delivered"]
    by_path = {path: json.loads(body) for path, _, body in receiver.requests}
    assert [r["receipt"] for r in by_path["/hooks/tracker"]["reports"]] == [receipts[first.pk]]
    assert [r["receipt"] for r in by_path["/hooks/tracker/second"]["reports"]] == [receipts[second.pk]]


def test_partner_webhook_retries_with_backoff_then_gives_up(receiver, make_case, provider, now, settings):
    from notices.services.lifecycle import close_case

    settings.WEBHOOK_MAX_ATTEMPTS, settings.WEBHOOK_RETRY_BASE = 2, 60
    receiver.status = 503
    partner = partner_webhooks.set_partner_webhook(
        partner=Partner.objects.create(name="Flaky"), url=receiver.url
    )
    case = make_case("http://files.polder.example/c.jpg", provider=provider, when=now)
    _report(partner, "http://files.polder.example/c.jpg")
    close_case(url=case, reason="duplicate", note="", now=now, api_key=None)

    assert _sweep(now) == ["pending"]
    delivery = PartnerWebhookDelivery.objects.get()
    assert (delivery.event, delivery.last_status_code, delivery.attempts) == ("case.closed", 503, 1)
    assert _sweep(now) == []  # not due before its backoff
    assert _sweep(delivery.next_attempt_at + timedelta(seconds=1)) == ["failed"]
    assert len(receiver.requests) == 2


def test_partner_webhook_off_writes_nothing_and_refuses_private_addresses(make_case, provider, now):
    from notices.delivery.webhooks import WebhookError
    from notices.services.lifecycle import close_case

    partner = Partner.objects.create(name="Quiet")
    case = make_case("http://files.polder.example/q.jpg", provider=provider, when=now)
    _report(partner, "http://files.polder.example/q.jpg")
    close_case(url=case, reason="duplicate", note="", now=now, api_key=None)
    assert PartnerWebhookDelivery.objects.count() == 0
    with pytest.raises(WebhookError):
        partner_webhooks.set_partner_webhook(partner=partner, url="http://127.0.0.1:9/hook")
