"""`GET /api/v1/blocklist/`: cases still up that their ladder referred to an authority (the default ladder's
7-day rung), as SHA-256 of the canonical URL (plain URLs for the dedicated scope only), dropped on removal
and under a hold; incremental pulls with `since` report removals; ETag answers 304 when nothing changed."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from notices.models import AuditEvent, Url
from notices.services.escalation import sweep
from notices.services.holds import clear_hold, request_hold
from notices.services.notices import create_notices, mark_notice_sent, queue_notice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_policies")]

H = timedelta(hours=1)


@pytest.fixture
def start(now):
    return (now - timedelta(days=30)).replace(microsecond=0)


def escalated(case, start):
    """The case noticed at `start` and taken up its ladder for a week (the referrals at 7 days)."""
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=start)
    mark_notice_sent(notice=queue_notice(notice=notice, now=start), at=start)
    for day in range(8):
        sweep(now=start + day * 24 * H)
    return notice


@pytest.fixture
def listed(make_case, provider, start, settings):
    settings.HOTLINE_COUNTRY = "DE"
    up = make_case("http://files.polder.example/up.html", provider=provider, when=start)
    fresh = make_case("http://files.polder.example/fresh.html", provider=provider, when=start)
    escalated(up, start)
    (notice,) = create_notices(urls=[fresh], notice_type="hotline_notice", now=start)
    mark_notice_sent(notice=queue_notice(notice=notice, now=start), at=start)  # noticed, never referred
    return up


def sha(case) -> str:
    return hashlib.sha256(case.canonical.encode()).hexdigest()


def test_hashes_by_default_and_plain_urls_only_for_their_scope(key_client, listed, partner_api):
    hashes = key_client(scope="blocklist", partner=partner_api.key.partner)
    body = hashes.get("/api/v1/blocklist/").json()
    assert (body["format"], body["count"], body["removed"]) == ("sha256", 1, [])
    assert [entry["sha256"] for entry in body["entries"]] == [sha(listed)]
    assert "url" not in body["entries"][0]
    assert AuditEvent.objects.filter(action="blocklist.urls").count() == 0

    urls = key_client(scope="blockurls", partner=partner_api.key.partner)
    (entry,) = urls.get("/api/v1/blocklist/").json()["entries"]
    assert (entry["url"], entry["sha256"]) == (listed.canonical, sha(listed))
    assert AuditEvent.objects.filter(action="blocklist.urls").count() == 1  # exact URLs left: audited


def test_other_keys_are_refused(partner_api, staff_api, provider_api, listed):
    for client in (partner_api, staff_api, provider_api):
        assert client.get("/api/v1/blocklist/").status_code == 403
    response = APIClient().get("/api/v1/blocklist/")
    assert (response.status_code, response["WWW-Authenticate"][:6]) == (401, "Bearer")


def test_incremental_pulls_report_removals_and_etag_says_nothing_changed(key_client, listed, partner_api):
    client = key_client(scope="blocklist", partner=partner_api.key.partner)
    first = client.get("/api/v1/blocklist/")
    etag = first["ETag"]
    assert client.get("/api/v1/blocklist/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    since = first.json()["generated_at"]
    assert client.get("/api/v1/blocklist/", {"since": since}).json()["entries"] == []

    Url.objects.filter(pk=listed.pk).update(status="removed")  # the checker confirmed the removal
    changed = client.get("/api/v1/blocklist/", {"since": since})
    body = changed.json()
    assert (body["entries"], [r["sha256"] for r in body["removed"]]) == ([], [sha(listed)])
    assert client.get("/api/v1/blocklist/").json()["count"] == 0
    assert client.get("/api/v1/blocklist/", HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_a_held_case_leaves_the_list_and_comes_back_when_cleared(key_client, listed, partner_api, now):
    client = key_client(scope="blocklist", partner=partner_api.key.partner)
    assert client.get("/api/v1/blocklist/").json()["count"] == 1
    hold = request_hold(url=listed, reason="investigation", requester="LKA", now=now - H)
    assert client.get("/api/v1/blocklist/").json()["count"] == 0
    clear_hold(hold=hold, now=now)
    assert client.get("/api/v1/blocklist/").json()["count"] == 1


@pytest.mark.parametrize("query", ["since=yesterday", "page=2", "since=2026-01-01T00:00:00Z&limit=1"])
def test_bad_queries_are_400(key_client, partner_api, query):
    client = key_client(scope="blocklist", partner=partner_api.key.partner)
    assert client.get(f"/api/v1/blocklist/?{query}").status_code == 400
