"""Fixtures for the notice and response service tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _hotline_country(settings):
    """The hotline works under German law; `provider` is Dutch, so it is abroad."""
    settings.HOTLINE_COUNTRY = "DE"


@pytest.fixture
def api_provider(make_provider):
    """A provider that picks notices up by API: queueing a notice makes it sent at once, without SMTP."""
    return make_provider("pickup", prefix=None, channel="api_only")


@pytest.fixture
def sent_notice(make_case, api_provider, analyst, now):
    """A notice naming two URLs of `api_provider`, sent at `now`."""
    from notices.services.notices import create_notices, queue_notice

    cases = [
        make_case(f"http://files.pickup.example/{name}.html", provider=api_provider, when=now)
        for name in ("a", "b")
    ]
    (notice,) = create_notices(urls=cases, notice_type="hotline_notice", now=now, created_by=analyst)
    return queue_notice(notice=notice, now=now)
