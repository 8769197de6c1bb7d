"""A notice superseded by a hop, as the old provider sees it: the item's `superseded_at` and
`superseded_reason` in the provider API (null while not superseded), the portal notice page in every portal
language, and the signed webhook event `notice.superseded` through the crash-safe webhook sweep — also for an
API-only provider, which gets no mail."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from notices.delivery.webhooks import claim_due_deliveries, enqueue_new_deliveries, register_webhook
from notices.models import HostingTrace, NoticeItem, OutgoingMessage, Url, WebhookDelivery
from notices.services.hops import act_on_hop
from notices.services.webhooks import deliver

from .test_webhooks import Receiver

pytestmark = pytest.mark.django_db

SUPERSEDED = {  # the badge and the line under it, per portal language
    "en": ("Superseded", "The content now answers from another network. Nothing more is asked of you"),
    "de": ("Gegenstandslos", "Die Inhalte antworten jetzt aus einem anderen Netz. Für diese URL wird"),
    "nl": ("Vervallen", "De inhoud antwoordt nu vanuit een ander netwerk. Voor deze URL wordt niets"),
    "fr": ("Caduque", "Le contenu répond désormais depuis un autre réseau. Plus rien ne vous est"),
}


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # loopback receiver: tests only
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def gracht(make_provider):
    return make_provider("gracht", country="NL", prefix="203.0.113.0/24", asn=64502)


def hop(case, provider, at):
    trace = HostingTrace.objects.create(
        url=case,
        traced_at=at,
        host=case.host,
        ips=["203.0.113.7"],
        ip="203.0.113.7",
        provider=provider,
        country=provider.country,
        asn=64502,
        sources=[],
        is_hop=True,
    )
    Url.objects.filter(pk=case.pk).update(current_trace=trace, provider=provider)
    return act_on_hop(url_id=case.pk, now=at)


def items_by_url(body: dict) -> dict[int, dict]:
    return {item["url_id"]: item for item in body["items"]}


def test_the_api_shows_the_superseded_item_and_null_for_the_others(provider_api, sent_notice, gracht):
    first, second = sorted(sent_notice.items.values_list("url_id", flat=True))
    page = f"/api/v1/provider/notices/{sent_notice.reference}/"
    before = items_by_url(provider_api.get(page).json())
    assert (before[first]["superseded_at"], before[first]["superseded_reason"]) == (None, None)

    at = sent_notice.sent_at + timedelta(hours=30)
    assert hop(Url.objects.get(pk=first), gracht, at) is not None

    body = provider_api.get(page).json()
    items = items_by_url(body)
    assert items[first]["superseded_reason"] == "hop"
    assert items[first]["superseded_at"].startswith(at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert items[first]["withdrawn"] is True
    assert (items[second]["superseded_at"], items[second]["superseded_reason"]) == (None, None)
    assert "gracht" not in json.dumps(body).lower()  # the new provider is never named to the old one
    assert not OutgoingMessage.objects.filter(notice=sent_notice).exists()  # API-only: no mail


def test_the_schema_documents_both_fields_as_nullable(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    item = schema["components"]["schemas"]["NoticeItem"]["properties"]
    assert item["superseded_at"]["nullable"] is True
    assert item["superseded_at"]["format"] == "date-time"
    reason = item["superseded_reason"]
    refs = {ref["$ref"].rsplit("/", 1)[1] for ref in reason["oneOf"]}
    assert refs == {"SupersededReasonEnum", "NullEnum"}
    assert schema["components"]["schemas"]["SupersededReasonEnum"]["enum"] == ["hop", "moved_before_send"]


def test_an_api_only_provider_with_a_webhook_gets_notice_superseded_signed_once(
    receiver, api_only, sent_notice, gracht, now
):
    endpoint = register_webhook(
        provider=api_only, url=receiver.url, created_by=None, now=sent_notice.created_at
    )
    enqueue_new_deliveries(now=now, limit=100)
    assert [deliver(pk) for pk in claim_due_deliveries(now=now, limit=100)] == ["delivered"]  # created

    first = min(sent_notice.items.values_list("url_id", flat=True))
    at = now + timedelta(hours=30)
    hop(Url.objects.get(pk=first), gracht, at)
    enqueue_new_deliveries(now=at, limit=100)  # writes nothing new: the notice was offered already
    (delivery,) = WebhookDelivery.objects.filter(item__isnull=False)
    assert (delivery.item.url_id, delivery.status) == (first, "pending")
    assert [deliver(pk) for pk in claim_due_deliveries(now=at, limit=100)] == ["delivered"]
    assert claim_due_deliveries(now=at + timedelta(minutes=5), limit=100) == []  # never twice

    _path, headers, raw = receiver.requests[-1]
    assert headers["X-Takedown-Event"] == "notice.superseded"
    timestamp, signature = (part.split("=", 1)[1] for part in headers["X-Takedown-Signature"].split(","))
    expected = hmac.new(endpoint.secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    assert signature == expected
    body = json.loads(raw)
    assert body["event"] == "notice.superseded"
    assert body["superseded"]["url_id"] == first
    assert body["superseded"]["superseded_reason"] == "hop"
    assert body["notice"]["reference"] == sent_notice.reference
    assert items_by_url(body["notice"])[first]["superseded_reason"] == "hop"
    assert "gracht" not in raw.decode().lower()
    assert len(receiver.requests) == 2


def test_a_provider_without_a_webhook_gets_no_delivery(api_only, sent_notice, gracht, now):
    first = min(sent_notice.items.values_list("url_id", flat=True))
    hop(Url.objects.get(pk=first), gracht, now + timedelta(hours=1))
    assert NoticeItem.objects.get(notice=sent_notice, url_id=first).superseded_reason == "hop"
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("language", sorted(SUPERSEDED))
def test_the_portal_page_says_superseded_in_every_language(
    desk_client, sent_notice, provider, gracht, language
):
    provider.language = language
    provider.save(update_fields=["language"])
    page = f"/portal/notices/{sent_notice.reference}/"
    badge, line = SUPERSEDED[language]
    assert badge not in desk_client.get(page).content.decode()

    first = min(sent_notice.items.values_list("url_id", flat=True))
    at = (sent_notice.sent_at + timedelta(hours=30)).replace(microsecond=0)
    hop(Url.objects.get(pk=first), gracht, at)

    body = desk_client.get(page).content.decode()
    assert f'<span class="badge withdrawn">{badge}</span>' in body
    assert body.count(f">{badge}<") == 1  # the other URL is not superseded
    assert line in body
    local = at.astimezone(ZoneInfo(provider.time_zone or "UTC"))
    assert f"{local:%Y-%m-%d %H:%M}" in body
    assert "gracht" not in body.lower()


def test_every_portal_language_is_covered(settings):
    assert sorted(code for code, _name in settings.LANGUAGES) == sorted(SUPERSEDED)
