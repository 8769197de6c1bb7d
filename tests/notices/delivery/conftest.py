"""Fixtures for the outbox tests: notices queued for e-mail delivery, and the outbox time settings."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def outbox_settings(settings):
    """The documented defaults, stated: retries after 60 s, 120 s, …; a claim lasts 10 min; 12 attempts."""
    settings.OUTBOX_RETRY_BASE = 60
    settings.OUTBOX_CLAIM_TIMEOUT = 600
    settings.OUTBOX_MAX_ATTEMPTS = 12
    return settings


@pytest.fixture
def queue(analyst):
    """Factory: create and queue one notice naming `cases` (all of one e-mail provider); returns the
    notice."""
    from notices.services.notices import create_notices, queue_notice

    def _queue(*cases, now, notice_type="hotline_notice"):
        (notice,) = create_notices(urls=list(cases), notice_type=notice_type, now=now, created_by=analyst)
        return queue_notice(notice=notice, now=now)

    return _queue


@pytest.fixture
def queued(make_case, provider, queue, now):
    """A notice to `provider` (e-mail) naming one URL, queued at `now`: (notice, its outbox message, the
    URL)."""
    case = make_case("http://files.polder.example/a.html", provider=provider, when=now)
    notice = queue(case, now=now)
    return notice, notice.messages.get(), case
