"""The staff API for law-enforcement holds and removal orders: a hold placed and cleared, a draft naming a
held case not sent (400 naming the URL), an order recorded on its notice with its clock, paused and resumed;
bad input is a 400 with field messages, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notices.models import ClockStop
from notices.services.notices import create_notices

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(make_case, provider, now):
    return make_case(provider=provider, when=now)


def test_hold_placed_refuses_the_send_and_is_cleared(staff_api, make_notice, case, now):
    draft = make_notice(case, now=now, send=False)
    placed = staff_api.post(
        f"/api/v1/urls/{case.pk}/holds/",
        {"reason": "Covert investigation", "requester": "LKA Berlin 2026/1"},
        format="json",
    )
    assert placed.status_code == 201
    body = placed.json()
    assert (body["kind"], body["in_force"], body["expires_at"]) == ("hold", True, None)

    refused = staff_api.post(f"/api/v1/notices/{draft.reference}/send/")
    assert refused.status_code == 400
    assert refused.json() == {
        "urls": [f"URL {case.pk} is under a law-enforcement hold: nothing is sent for it."]
    }
    again = staff_api.post(f"/api/v1/urls/{case.pk}/holds/", {"reason": "x", "requester": "y"}, format="json")
    assert again.status_code == 400 and "url" in again.json()

    cleared = staff_api.post(f"/api/v1/holds/{body['id']}/clear/", {"note": "done"}, format="json")
    assert (cleared.status_code, cleared.json()["in_force"]) == (200, False)
    assert staff_api.post(f"/api/v1/holds/{body['id']}/clear/").status_code == 409
    assert staff_api.post(f"/api/v1/notices/{draft.reference}/send/").status_code == 202
    listed = staff_api.get(f"/api/v1/urls/{case.pk}/holds/").json()
    assert [(h["kind"], h["end_note"]) for h in listed] == [("hold", "done")]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"reason": "x", "requester": "y", "expires_at": "yesterday"},
        {"reason": "x" * 5000, "requester": "y"},
        {"reason": "x", "requester": "y", "expires_at": "2000-01-01T00:00:00Z"},
        ["not", "an", "object"],
    ],
)
def test_bad_hold_input_is_a_400(staff_api, case, body):
    response = staff_api.post(f"/api/v1/urls/{case.pk}/holds/", body, format="json")
    assert response.status_code == 400
    assert ClockStop.objects.count() == 0


def test_order_recorded_with_its_clock_paused_and_resumed(staff_api, case, now):
    (notice,) = create_notices(
        urls=[case], notice_type="removal_order", now=now, deadline_at=now + timedelta(days=1)
    )
    path = f"/api/v1/notices/{notice.reference}/order/"
    assert staff_api.get(path).status_code == 404
    bad = staff_api.post(path, {"legal_basis": "martial", "time_allowed_seconds": 0}, format="json")
    assert bad.status_code == 400
    assert {"authority", "reference", "issued_at", "addressee", "legal_basis", "time_allowed_seconds"} <= set(
        bad.json()
    )
    future = staff_api.post(
        path,
        {
            "authority": "BKA",
            "reference": "RO-1",
            "issued_at": (now + timedelta(hours=1)).isoformat(),
            "addressee": "Polder",
            "legal_basis": "tco",
        },
        format="json",
    )
    assert (future.status_code, list(future.json())) == (400, ["issued_at"])

    made = staff_api.post(
        path,
        {
            "authority": "BKA",
            "reference": "RO-1",
            "issued_at": (now - timedelta(hours=1)).isoformat(),
            "addressee": "Polder",
            "legal_basis": "tco",
        },
        format="json",
    )
    assert made.status_code == 201
    assert made.json()["clock"]["state"] == "not received"
    assert made.json()["clock"]["time_allowed_seconds"] == 3600

    assert staff_api.post(f"/api/v1/notices/{notice.reference}/send/").status_code == 202
    from notices.services.notices import mark_notice_sent

    received = timezone.now()
    mark_notice_sent(notice=notice, at=received)
    running = staff_api.get(path).json()["clock"]
    assert running["state"] == "running" and 3500 < running["remaining_seconds"] <= 3600

    assert staff_api.post(f"{path}pause/", {"reason": "nap"}, format="json").status_code == 400
    paused = staff_api.post(f"{path}pause/", {"reason": "force_majeure", "note": "outage"}, format="json")
    assert (paused.status_code, paused.json()["clock"]["state"]) == (200, "paused")
    assert staff_api.post(f"{path}pause/", {"reason": "clarification"}, format="json").status_code == 409
    resumed = staff_api.post(f"{path}resume/")
    assert (resumed.status_code, resumed.json()["clock"]["state"]) == (200, "running")
    assert staff_api.post(f"{path}resume/").status_code == 409
    schema = staff_api.get("/api/schema/?format=json").json()
    assert "/api/v1/notices/{reference}/order/" in schema["paths"]
