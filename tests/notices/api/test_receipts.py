"""GET /api/v1/reports/{receipt}/: what became of a report, for the partner that sent it only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notices.checks.classify import Outcome
from notices.checks.engine import Observation
from notices.models import AuditEvent, Partner, Url
from tests.conftest import _key_client

pytestmark = pytest.mark.django_db


def observe(case: Url, outcome: Outcome, at) -> Observation:
    return Observation(
        key=case.pk,
        outcome=outcome,
        status_code=404 if outcome == Outcome.GONE else 200,
        final_url=case.canonical,
        error_class="",
        resolved_ip="198.51.100.10",
        redirects=0,
        elapsed_ms=5,
        checked_at=at,
        vantage="direct",
    )


def _receipt(client, url: str) -> str:
    response = client.post("/api/v1/reports/", {"url": url}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["receipt"]


def test_receipt_of_a_new_report_says_it_awaits_assessment(partner_api):
    receipt = _receipt(partner_api, "http://files.example/new.jpg")
    response = partner_api.get(f"/api/v1/reports/{receipt}/")

    assert response.status_code == 200
    body = response.json()
    assert body["receipt"] == receipt and body["duplicate"] is False
    assert body["url"]["canonical"] == "http://files.example/new.jpg"
    assert body["case"] == {
        "status": "new",
        "purged": False,
        "first_notice_sent_at": None,
        "removal_confirmed_at": None,
        "removed": {"low": None, "high": None},
        "ttr": {"low": None, "high": None},
        "closed_at": None,
    }


def test_receipt_follows_the_case_to_notice_and_removal(
    partner_api, api_only, make_case, make_notice, now, settings
):
    from notices.services.checking import record_observations

    settings.REMOVAL_CONFIRMATIONS, settings.REMOVAL_MIN_SPACING = 2, 60
    case = make_case("http://files.polder.example/r.jpg", provider=api_only, when=now)
    receipt = _receipt(partner_api, "http://files.polder.example/r.jpg")
    make_notice(case, now=now)
    noticed = partner_api.get(f"/api/v1/reports/{receipt}/").json()
    assert (noticed["duplicate"], noticed["case"]["status"]) == (True, "notified")
    assert noticed["case"]["first_notice_sent_at"] is not None

    live, gone = now + timedelta(hours=1), now + timedelta(hours=3)
    record_observations([observe(case, Outcome.LIVE, live)], now=live)
    record_observations([observe(case, Outcome.GONE, gone)], now=gone)
    record_observations([observe(case, Outcome.GONE, gone + timedelta(minutes=5))], now=gone)
    removed = partner_api.get(f"/api/v1/reports/{receipt}/").json()["case"]

    case.refresh_from_db()
    sent = case.first_notice_sent_at
    assert removed["status"] == "removed"
    assert removed["removal_confirmed_at"] is not None
    assert removed["ttr"] == {
        "low": int((live - sent).total_seconds()),
        "high": int((gone - sent).total_seconds()),
    }
    assert removed["removed"]["high"].startswith(gone.strftime("%Y-%m-%dT%H:%M:%S"))


def test_receipt_of_another_partner_is_not_found_like_an_unknown_one(partner_api):
    receipt = _receipt(partner_api, "http://files.example/mine.jpg")
    other = _key_client(scope="partner", partner=Partner.objects.create(name="Other Hotline"))

    assert other.get(f"/api/v1/reports/{receipt}/").status_code == 404
    assert other.get("/api/v1/reports/rcpt_unknown/").json() == {"detail": "No report with this receipt."}
    assert other.get(f"/api/v1/reports/{receipt}/").json() == {"detail": "No report with this receipt."}


def test_receipt_for_staff_key_shows_any_report_and_is_audited(partner_api, staff_api):
    receipt = _receipt(partner_api, "http://files.example/audited.jpg")
    response = staff_api.get(f"/api/v1/reports/{receipt}/")

    assert response.status_code == 200
    audit = AuditEvent.objects.get(action="report.view")
    assert audit.object_id == str(response.json()["url"]["id"])


def test_receipt_refuses_provider_keys(provider_api, partner_api):
    receipt = _receipt(partner_api, "http://files.example/p.jpg")
    response = provider_api.get(f"/api/v1/reports/{receipt}/")
    assert response.status_code == 403
