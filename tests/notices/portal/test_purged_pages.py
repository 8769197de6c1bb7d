"""A purged case shows "purged" instead of its URL: in the provider portal (no copy button, left out of the
downloads), on its admin pages and in the API (empty strings and `purged_at`)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse

from notices.models import Url
from notices.services.retention import purge
from tests.notices.stats.conftest import confirm_removals

pytestmark = pytest.mark.django_db

GONE = "http://files.polder.example/a.html"
UP = "http://files.polder.example/b.html"


@pytest.fixture
def half_purged(settings, sent_notice, now):
    """`sent_notice` names GONE (removed, then purged a year later) and UP (still up)."""
    settings.REAPPEARANCE_WATCH = 0
    settings.REMOVAL_CONFIRMATIONS, settings.REMOVAL_MIN_SPACING = 2, 1
    settings.CHECKER_VANTAGE_POINTS = ["direct"]
    gone = Url.objects.get(canonical=GONE)
    assert confirm_removals([gone]) == 1
    assert purge(now=now + timedelta(days=400)).counts["urls"] == 1
    return sent_notice, Url.objects.get(pk=gone.pk), Url.objects.get(canonical=UP)


def test_portal_shows_purged_and_leaves_it_out_of_the_downloads(desk_client, half_purged):
    notice, gone, _up = half_purged
    page = desk_client.get(reverse("portal:notice", args=[notice.reference])).content.decode()
    assert "Purged: the retention period of this case is over." in page
    assert page.count('data-copy="') == 1 and f'data-copy="{UP}"' in page
    assert reverse("portal:xarf-url", args=[notice.reference, gone.pk]) not in page

    csv = desk_client.get(reverse("portal:csv", args=[notice.reference])).content.decode()
    assert UP in csv and f",{gone.pk}," not in csv
    xarf = json.loads(b"".join([desk_client.get(reverse("portal:xarf", args=[notice.reference])).content]))
    assert len(xarf) == 1
    assert desk_client.get(reverse("portal:xarf-url", args=[notice.reference, gone.pk])).status_code == 404


def test_portal_says_purged_in_every_language(desk_client, half_purged, provider):
    notice = half_purged[0]
    texts = {
        "de": "Gelöscht: Die Aufbewahrungsfrist dieses Falls ist abgelaufen.",
        "nl": "Verwijderd: de bewaartermijn van deze zaak is voorbij.",
        "fr": "Supprimée : la durée de conservation de ce dossier est écoulée.",
    }
    for language, text in texts.items():
        provider.language = language
        provider.save(update_fields=["language"])
        page = desk_client.get(reverse("portal:notice", args=[notice.reference]))
        assert text in page.content.decode(), language


def test_admin_and_api_show_purged(client, django_user_model, staff_api, half_purged):
    notice, gone, _up = half_purged
    client.force_login(
        django_user_model.objects.create_superuser("chief", "chief@hotline.example", "pw-1234567")
    )
    page = client.get(reverse("admin:notices_url_change", args=[gone.pk])).content.decode()
    assert '<span class="url purged">purged</span>' in page
    listing = client.get(reverse("admin:notices_url_changelist")).content.decode()
    assert (
        listing.count('<span class="url purged">purged</span>') == 1
        and "hxxp://files[.]polder[.]example/b" in listing
    )
    notice_page = client.get(reverse("admin:notices_notice_change", args=[notice.pk])).content.decode()
    assert '<span class="url purged">purged</span>' in notice_page

    body = staff_api.get(f"/api/v1/urls/{gone.pk}/").json()
    assert (body["canonical"], body["original"], body["host"], body["status"]) == ("", "", "", "removed")
    assert body["purged_at"] is not None and body["ttr"]["high"] is not None
    assert staff_api.post(f"/api/v1/urls/{gone.pk}/trace/").status_code == 409
    assessed = staff_api.post(f"/api/v1/urls/{gone.pk}/assess/", {"legality": "not_illegal"}, format="json")
    assert (assessed.status_code, "purged" in assessed.json()["detail"]) == (409, True)
