"""Fixtures for the REST API tests: key clients of every kind, and notices in each state."""

from __future__ import annotations

import pytest


@pytest.fixture
def key_client(db):
    """Factory: an APIClient carrying a fresh key (`client.key` is the ApiKey row)."""
    from rest_framework.test import APIClient

    from notices.services.keys import create_api_key

    def _make(**kwargs) -> APIClient:
        key, plaintext = create_api_key(**kwargs)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
        client.key = key
        client.plaintext = plaintext
        return client

    return _make


@pytest.fixture
def api_only(provider):
    """`provider`, picking notices up through the portal/API: queueing a notice sends it at once."""
    provider.channel = "api_only"
    provider.save(update_fields=["channel"])
    return provider


@pytest.fixture
def other_api_only(other_provider):
    other_provider.channel = "api_only"
    other_provider.save(update_fields=["channel"])
    return other_provider


@pytest.fixture
def make_notice(analyst):
    """Factory: one notice for `cases` (all of one provider), created by the analyst; queued when `send`."""
    from notices.services.notices import create_notices, queue_notice

    def _make(*cases, now, send=True, notice_type="hotline_notice"):
        (notice,) = create_notices(urls=list(cases), notice_type=notice_type, now=now, created_by=analyst)
        if send:
            notice = queue_notice(notice=notice, now=now)
        return notice

    return _make


@pytest.fixture
def sent_notice(api_only, make_case, make_notice, now):
    """A notice to `provider` (API pickup, so already sent) naming two URLs."""
    first = make_case("http://files.polder.example/a.html", provider=api_only, when=now)
    second = make_case("http://files.polder.example/b.html", provider=api_only, when=now)
    return make_notice(first, second, now=now)


@pytest.fixture
def other_sent_notice(other_api_only, make_case, make_notice, now):
    """A notice to `other_provider`, already sent: what `provider` must never reach."""
    case = make_case("http://cdn.balkan.example/x.jpg", provider=other_api_only, when=now)
    return make_notice(case, now=now)
