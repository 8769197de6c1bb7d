"""A repeat of a notice made available to an API-only provider is on its portal page, in its language."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notices.services.escalation import sweep

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_policies")]


@pytest.mark.parametrize(
    ("language", "label", "line"),
    [
        ("en", "Reminders", "reminder 1 of "),
        ("de", "Erinnerungen", "Erinnerung 1 vom "),
        ("nl", "Herinneringen", "herinnering 1 van "),
        ("fr", "Rappels", "rappel 1 du "),
    ],
)
def test_portal_notice_page_lists_its_reminders(desk_client, sent_notice, provider, language, label, line):
    provider.language = language
    provider.save(update_fields=["language"])
    page = f"/portal/notices/{sent_notice.reference}/"
    assert label not in desk_client.get(page).content.decode()

    sweep(now=sent_notice.sent_at + timedelta(hours=24))

    body = desk_client.get(page).content.decode()
    assert label in body
    local = (sent_notice.sent_at + timedelta(hours=24)).astimezone(
        __import__("zoneinfo").ZoneInfo("Europe/Amsterdam")
    )
    assert f"{line}{local:%Y-%m-%d %H:%M}" in body
