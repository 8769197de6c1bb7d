"""`GET /api/v1/blocklist/`: cases still up that their ladder referred to an authority (the default ladder's
7-day rung), as SHA-256 of the canonical URL (plain URLs for the dedicated scope only), dropped on removal
and under a hold; incremental pulls with `since` report removals; ETag answers 304 when nothing changed."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

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


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=yesterday", "since"),
        ("page=2", "page"),
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("limit=ten", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=eyJ2IjoxfQ:1tAmpered:sig", "cursor"),
    ],
)
def test_bad_queries_are_400_with_the_fields_message(key_client, partner_api, query, field):
    client = key_client(scope="blocklist", partner=partner_api.key.partner)
    response = client.get(f"/api/v1/blocklist/?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert response.json()[field][0]


# --- Pages -------------------------------------------------------------------------------------------------


@pytest.fixture
def seven(make_case, provider, start, settings):
    """Seven cases on the list (one notice, referred at 7 days), in the order of their entries."""
    settings.HOTLINE_COUNTRY = "DE"
    cases = [
        make_case(f"http://files.polder.example/{n}.html", provider=provider, when=start) for n in range(7)
    ]
    (notice,) = create_notices(urls=cases, notice_type="hotline_notice", now=start)
    mark_notice_sent(notice=queue_notice(notice=notice, now=start), at=start)
    for day in range(8):
        sweep(now=start + day * 24 * H)
    return cases


def walk(client, first: dict | None = None, **query) -> list[dict]:
    """Every page of one pull, following `next`."""
    pages = [client.get("/api/v1/blocklist/", query).json()] if first is None else [first]
    while pages[-1]["next"]:
        pages.append(client.get(pages[-1]["next"]).json())
    return pages


def hashes(pages: list[dict], part: str = "entries") -> list[str]:
    return [entry["sha256"] for page in pages for entry in page[part]]


def test_pages_walk_the_whole_list_once_with_links_both_ways(key_client, partner_api, seven):
    client = key_client(scope="blocklist", partner=partner_api.key.partner)
    pages = walk(client, limit=3)
    assert [len(p["entries"]) for p in pages] == [3, 3, 1]
    assert sorted(hashes(pages)) == sorted(sha(case) for case in seven)
    assert {p["count"] for p in pages} == {7} and {p["limit"] for p in pages} == {3}
    assert len({p["generated_at"] for p in pages}) == 1  # one pull: the first page's time
    assert pages[0]["previous"] is None and pages[-1]["next"] is None
    assert pages[1]["next"].startswith("http://testserver/api/v1/blocklist/?limit=3&cursor=")

    back = client.get(pages[2]["previous"]).json()  # previous of the last is the middle page
    assert hashes([back]) == hashes([pages[1]])
    first = client.get(back["previous"]).json()
    assert (hashes([first]), first["previous"]) == (hashes([pages[0]]), None)

    etags = [client.get(p["next"])["ETag"] for p in pages[:-1]]
    assert len(set(etags)) == 2  # each page its own
    again = client.get(pages[0]["next"], HTTP_IF_NONE_MATCH=etags[0])
    assert (again.status_code, again["ETag"]) == (304, etags[0])
    assert client.get(pages[0]["next"], HTTP_IF_NONE_MATCH=etags[1]).status_code == 200


def test_rows_added_and_dropped_between_pages_neither_repeat_nor_skip_the_others(
    key_client, partner_api, seven, now
):
    client = key_client(scope="blocklist", partner=partner_api.key.partner)
    held = request_hold(url=seven[6], reason="investigation", requester="LKA", now=now - H)  # off the list
    first = client.get("/api/v1/blocklist/", {"limit": 2}).json()
    assert first["count"] == 6
    seen_first = hashes([first])

    Url.objects.filter(pk=seven[3].pk).update(status="removed")  # dropped mid-walk (not yet shown)
    clear_hold(hold=held, now=now)  # back on the list mid-walk
    dropped_shown = next(c for c in seven if sha(c) in seen_first)
    request_hold(url=dropped_shown, reason="investigation", requester="LKA", now=now)  # shown, then dropped

    pages = walk(client, first)
    shown = hashes(pages)
    assert len(shown) == len(set(shown))  # nothing twice
    stayed = {sha(c) for c in seven[:6]} - {sha(seven[3]), sha(dropped_shown)}
    assert stayed <= set(shown)  # nothing that stayed is skipped
    assert sha(seven[3]) not in shown  # gone before its page came
    assert sha(seven[6]) not in shown  # changed after the pull began: the next pull's

    since = first["generated_at"]
    changes = walk(client, since=since, limit=1)
    assert sorted(hashes(changes)) == [sha(seven[6])]
    assert sorted(hashes(changes, "removed")) == sorted([sha(seven[3]), sha(dropped_shown)])
    assert len({p["since"] for p in changes}) == 1 and changes[0]["since"] is not None


def test_an_incremental_pull_pages_too_and_its_cursor_keeps_its_since(key_client, partner_api, seven):
    client = key_client(scope="blocklist", partner=partner_api.key.partner)
    since = client.get("/api/v1/blocklist/").json()["generated_at"]
    for case in seven[:5]:
        Url.objects.filter(pk=case.pk).update(status="removed")
    pages = walk(client, since=since, limit=2)
    assert [len(p["removed"]) for p in pages] == [2, 2, 1]
    assert sorted(hashes(pages, "removed")) == sorted(sha(c) for c in seven[:5])
    (cursor,) = parse_qs(urlsplit(pages[0]["next"]).query)["cursor"]
    other = client.get("/api/v1/blocklist/", {"cursor": cursor, "since": "2020-01-01T00:00:00Z"})
    assert other.status_code == 400 and list(other.json()) == ["cursor"]
    same = client.get("/api/v1/blocklist/", {"cursor": cursor, "since": since, "limit": 2})
    assert hashes([same.json()], "removed") == hashes([pages[1]], "removed")
