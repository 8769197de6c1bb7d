"""Closing and reopening cases and withdrawing notices through the staff API (200, field-level 400, 409 for a
move the tables refuse, documented in the schema); no route deletes; providers see a withdrawn notice as
withdrawn."""

from __future__ import annotations

import pytest
from django.urls import URLPattern

from notices.api.schema import ERROR_RESPONSES
from notices.api.urls import v1
from notices.models import Event, Notice, ProviderResponse, Url

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(sent_notice) -> Url:
    """The first of the two cases in `sent_notice` (noticed, to an API-only provider)."""
    return Url.objects.get(pk=sent_notice.items.order_by("url_id").first().url_id)


# --- Close and reopen ---------------------------------------------------------------------------------------


def test_close_answers_the_closed_case(staff_api, case):
    response = staff_api.post(
        f"/api/v1/urls/{case.pk}/close/", {"reason": "duplicate", "note": "see 12"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"], body["next_check_at"]) == (case.pk, "closed", None)
    assert body["closed_at"] is not None
    event = Event.objects.get(url=case, kind="url.closed")
    assert (event.actor, event.data["reason"], event.data["note"]) == (
        f"key:{staff_api.key.prefix}",
        "duplicate",
        "see 12",
    )


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"reason": ["This field is required."]}),
        ({"reason": "deleted"}, {"reason": ['"deleted" is not a valid choice.']}),
        ({"reason": "other"}, {"note": ["Say why (required with the reason “other”)."]}),
        ({"reason": "other", "note": "   "}, {"note": ["Say why (required with the reason “other”)."]}),
        (
            {"reason": "duplicate", "note": "x" * 2001},
            {"note": ["Ensure this field has no more than 2000 characters."]},
        ),
        ({"reason": "duplicate", "note": "a\x00b"}, {"note": ["Null characters are not allowed."]}),
        ({"reason": ["duplicate"]}, {"reason": ["\"['duplicate']\" is not a valid choice."]}),
    ],
)
def test_close_field_errors_are_400_and_change_nothing(staff_api, case, body, errors):
    response = staff_api.post(f"/api/v1/urls/{case.pk}/close/", body, format="json")

    assert (response.status_code, response.json()) == (400, errors)
    case.refresh_from_db()
    assert case.status == "notified"


@pytest.mark.parametrize("status", ["not_illegal", "removed", "gone_before_notice", "closed"])
def test_close_of_a_finished_case_is_409(staff_api, case, status):
    Url.objects.filter(pk=case.pk).update(status=status)

    response = staff_api.post(f"/api/v1/urls/{case.pk}/close/", {"reason": "duplicate"}, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "detail": f"URL {case.pk} is {status}; only a new, assessed or noticed case is closed."
    }


def test_close_of_an_unknown_case_is_404(staff_api):
    response = staff_api.post("/api/v1/urls/999999/close/", {"reason": "duplicate"}, format="json")
    assert response.status_code == 404


def test_reopen_answers_the_case_as_it_was(staff_api, case):
    staff_api.post(f"/api/v1/urls/{case.pk}/close/", {"reason": "duplicate"}, format="json")

    response = staff_api.post(f"/api/v1/urls/{case.pk}/reopen/", format="json")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["closed_at"]) == ("notified", None)


def test_reopen_of_an_open_case_is_409(staff_api, case):
    response = staff_api.post(f"/api/v1/urls/{case.pk}/reopen/", format="json")

    assert response.status_code == 409
    assert response.json() == {"detail": f"URL {case.pk} is notified, not closed: nothing to reopen."}


# --- Withdraw -----------------------------------------------------------------------------------------------


def test_withdraw_answers_the_withdrawn_notice(staff_api, sent_notice):
    response = staff_api.post(
        f"/api/v1/notices/{sent_notice.reference}/withdraw/", {"reason": "sent_in_error"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["reference"], body["status"]) == (sent_notice.reference, "withdrawn")
    assert body["withdrawn_at"] is not None
    assert [item["withdrawn"] for item in body["items"]] == [True, True]
    assert (
        Event.objects.get(notice=sent_notice, kind="notice.withdrawn").actor == f"key:{staff_api.key.prefix}"
    )


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"reason": ["This field is required."]}),
        ({"reason": "cases_closed"}, {"reason": ['"cases_closed" is not a valid choice.']}),
        ({"reason": "other", "note": ""}, {"note": ["Say why (required with the reason “other”)."]}),
    ],
)
def test_withdraw_field_errors_are_400(staff_api, sent_notice, body, errors):
    response = staff_api.post(f"/api/v1/notices/{sent_notice.reference}/withdraw/", body, format="json")

    assert (response.status_code, response.json()) == (400, errors)
    sent_notice.refresh_from_db()
    assert sent_notice.status == "sent"


@pytest.mark.parametrize("status", ["closed", "withdrawn"])
def test_withdraw_of_a_closed_or_withdrawn_notice_is_409(staff_api, sent_notice, status):
    Notice.objects.filter(pk=sent_notice.pk).update(status=status)

    response = staff_api.post(
        f"/api/v1/notices/{sent_notice.reference}/withdraw/", {"reason": "sent_in_error"}, format="json"
    )

    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Notice {sent_notice.reference} is {status} and cannot be withdrawn."
    }


def test_withdraw_of_an_unknown_notice_is_404(staff_api):
    response = staff_api.post(
        "/api/v1/notices/TN-2026-999999/withdraw/", {"reason": "sent_in_error"}, format="json"
    )
    assert response.status_code == 404


# --- What the provider sees ---------------------------------------------------------------------------------


def _withdraw(staff_api, notice) -> None:
    response = staff_api.post(
        f"/api/v1/notices/{notice.reference}/withdraw/", {"reason": "wrong_provider"}, format="json"
    )
    assert response.status_code == 200


def test_provider_api_shows_the_notice_withdrawn(staff_api, provider_api, sent_notice):
    _withdraw(staff_api, sent_notice)

    detail = provider_api.get(f"/api/v1/provider/notices/{sent_notice.reference}/").json()
    listed = provider_api.get("/api/v1/provider/notices/?status=withdrawn").json()["results"]

    assert (detail["status"], detail["withdrawn_at"] is not None) == ("withdrawn", True)
    assert [n["reference"] for n in listed] == [sent_notice.reference]


def test_provider_cannot_answer_a_withdrawn_notice(staff_api, provider_api, sent_notice):
    _withdraw(staff_api, sent_notice)

    response = provider_api.post(
        f"/api/v1/provider/notices/{sent_notice.reference}/responses/",
        {"action": "acknowledge"},
        format="json",
    )

    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Notice {sent_notice.reference} cannot be answered while withdrawn."
    }
    assert ProviderResponse.objects.count() == 0


def test_a_notice_withdrawn_before_it_was_sent_stays_unseen(
    staff_api, provider_api, make_case, provider, now
):
    from notices.services.notices import create_notices

    url = make_case(provider=provider, when=now)
    (draft,) = create_notices(urls=[url], notice_type="hotline_notice", now=now)
    _withdraw(staff_api, draft)

    assert provider_api.get(f"/api/v1/provider/notices/{draft.reference}/").status_code == 404
    assert provider_api.get("/api/v1/provider/notices/").json()["results"] == []


def test_a_closed_case_shows_withdrawn_in_a_notice_still_open(staff_api, provider_api, sent_notice, case):
    staff_api.post(f"/api/v1/urls/{case.pk}/close/", {"reason": "duplicate"}, format="json")

    detail = provider_api.get(f"/api/v1/provider/notices/{sent_notice.reference}/").json()

    assert detail["status"] == "sent"
    assert {item["url_id"]: item["withdrawn"] for item in detail["items"]} == {
        case.pk: True,
        next(i.url_id for i in sent_notice.items.all() if i.url_id != case.pk): False,
    }


# --- No deletion, and the schema ----------------------------------------------------------------------------


def _concrete(route: URLPattern) -> str:
    path = str(route.pattern)
    for name, value in (("<int:pk>", "1"), ("<str:reference>", "TN-2026-000001"), ("<slug:slug>", "polder")):
        path = path.replace(name, value)
    return f"/api/v1/{path}"


@pytest.mark.parametrize("route", v1, ids=lambda r: r.name)
def test_no_route_deletes(route, staff_api, provider_api, sent_notice):
    before = (Url.objects.count(), Notice.objects.count())

    for client in (staff_api, provider_api):
        assert client.delete(_concrete(route)).status_code in {403, 405}
    assert (Url.objects.count(), Notice.objects.count()) == before


def test_schema_documents_close_reopen_and_withdraw(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    paths = schema["paths"]

    close = paths["/api/v1/urls/{id}/close/"]["post"]
    withdraw = paths["/api/v1/notices/{reference}/withdraw/"]["post"]
    shared = set(ERROR_RESPONSES)  # every operation documents the shared error answers too
    assert set(close["responses"]) == {"200", "400", "409"} | shared
    assert set(withdraw["responses"]) == {"200", "400", "409"} | shared
    assert set(paths["/api/v1/urls/{id}/reopen/"]["post"]["responses"]) == {"200", "409"} | shared
    assert "reason" in close["responses"]["400"]["description"]  # the view's own answer, not the shared one
    components = schema["components"]["schemas"]
    assert components["CloseReasonEnum"]["enum"] == [
        "duplicate",
        "reported_in_error",
        "out_of_remit",
        "other",
    ]
    assert components["WithdrawReasonEnum"]["enum"] == ["sent_in_error", "wrong_provider", "other"]
    assert "withdrawn" in components["NoticeStatusEnum"]["enum"]
    assert "closed" in components["UrlStatusEnum"]["enum"]
    assert not any("delete" in operations for operations in paths.values())
