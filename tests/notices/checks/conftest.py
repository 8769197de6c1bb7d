"""Fixtures for the recording and scheduling tests: cases noticed at a chosen time, and the time settings."""

from __future__ import annotations

import pytest


@pytest.fixture
def removal_settings(settings):
    """The documented defaults, stated so the tests read on their own: K = 2 gone at least M = 10 min apart;
    checks every 10 min on the first day, hourly in the first week, 6-hourly later, daily after removal for
    30 days; a check claim lasts 15 min."""
    settings.REMOVAL_CONFIRMATIONS = 2
    settings.REMOVAL_MIN_SPACING = 600
    settings.CHECK_INTERVAL_FIRST_DAY = 600
    settings.CHECK_INTERVAL_FIRST_WEEK = 3600
    settings.CHECK_INTERVAL_LATER = 6 * 3600
    settings.CHECK_INTERVAL_AFTER_REMOVAL = 86400
    settings.REAPPEARANCE_WATCH = 30 * 86400
    settings.CHECK_CLAIM_TIMEOUT = 900
    return settings


@pytest.fixture
def api_provider(make_provider):
    """A provider that picks notices up by API: queueing a notice makes it sent at once, without SMTP."""
    return make_provider(channel="api_only")


@pytest.fixture
def notify(analyst):
    """Factory: create and queue one notice naming `cases` (all of one API-only provider) at `at`."""
    from notices.services.notices import create_notices, queue_notice

    def _notify(*cases, at):
        (notice,) = create_notices(urls=list(cases), notice_type="hotline_notice", now=at, created_by=analyst)
        return queue_notice(notice=notice, now=at)

    return _notify


@pytest.fixture
def notified_case(make_case, api_provider, notify, now):
    """Factory: a case whose first notice was sent at `at` (default `now`), status `notified`."""

    def _make(path="a.html", *, at=None, provider=None):
        at = at or now
        case = make_case(f"http://files.polder.example/{path}", provider=provider or api_provider, when=at)
        notify(case, at=at)
        case.refresh_from_db()
        return case

    return _make
