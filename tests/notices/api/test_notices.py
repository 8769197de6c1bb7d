"""Notices through the staff API: create (one per provider), send, read, list; and the provider list."""

from __future__ import annotations

import re

import pytest

from notices.models import Event, Notice, NoticeItem, OutgoingMessage, Url
from notices.services.intake import ReportInput, submit_report

pytestmark = pytest.mark.django_db

REFERENCE = re.compile(r"^TN-\d{4}-\d{6,}$")


def _create(client, body):
    return client.post("/api/v1/notices/", body, format="json")


def _rows() -> tuple[int, int, int]:
    return Notice.objects.count(), NoticeItem.objects.count(), OutgoingMessage.objects.count()


@pytest.fixture
def two_provider_cases(make_case, provider, other_provider, now):
    return (
        make_case("http://files.polder.example/a.html", provider=provider, when=now),
        make_case("http://files.polder.example/b.html", provider=provider, when=now),
        make_case("http://cdn.balkan.example/c.jpg", provider=other_provider, when=now),
    )


# --- create -------------------------------------------------------------------------------------------------


def test_notice_create_one_per_provider(staff_api, two_provider_cases, provider, other_provider, analyst):
    a, b, c = two_provider_cases
    response = _create(staff_api, {"urls": [a.pk, c.pk, b.pk], "notice_type": "hotline_notice"})
    assert response.status_code == 201, response.content
    notices = response.json()
    assert len(notices) == 2
    assert all(REFERENCE.match(n["reference"]) for n in notices)
    assert len({n["reference"] for n in notices}) == 2
    by_slug = {n["provider"]["slug"]: n for n in notices}
    assert set(by_slug) == {"polder", "balkan"}
    assert sorted(i["url_id"] for i in by_slug["polder"]["items"]) == sorted([a.pk, b.pk])
    assert [i["url_id"] for i in by_slug["balkan"]["items"]] == [c.pk]
    polder = by_slug["polder"]
    assert (polder["status"], polder["notice_type"], polder["language"]) == ("draft", "hotline_notice", "en")
    assert (polder["queued_at"], polder["sent_at"], polder["deadline_at"], polder["responses"]) == (
        None,
        None,
        None,
        [],
    )
    assert polder["provider"] == {
        "id": provider.pk,
        "slug": "polder",
        "name": "Polder Hosting",
        "country": "NL",
        "is_eu": True,
        "language": "en",
        "time_zone": "UTC",
        "channel": "email",
    }
    item = next(i for i in polder["items"] if i["url_id"] == a.pk)
    assert item == {
        "url_id": a.pk,
        "canonical": "http://files.polder.example/a.html",
        "defanged": "hxxp://files[.]polder[.]example/a.html",
        "status": "open",
        "last_outcome": "",
        "last_checked_at": None,
        "withdrawn": False,
        "superseded_at": None,
        "superseded_reason": None,
    }
    assert _rows() == (2, 3, 0)
    assert set(Notice.objects.values_list("reference", "provider_id", "created_by_id")) == {
        (by_slug["polder"]["reference"], provider.pk, analyst.pk),
        (by_slug["balkan"]["reference"], other_provider.pk, analyst.pk),
    }
    assert Event.objects.filter(kind="notice.created").count() == 2


def test_notice_create_with_send_queues_each(staff_api, two_provider_cases, other_provider):
    other_provider.channel = "api_only"
    other_provider.save()
    a, _, c = two_provider_cases
    response = _create(staff_api, {"urls": [a.pk, c.pk], "send": True})
    assert response.status_code == 201, response.content
    statuses = {n["provider"]["slug"]: n["status"] for n in response.json()}
    assert statuses == {"polder": "queued", "balkan": "sent"}
    assert OutgoingMessage.objects.count() == 1


def test_notice_create_with_send_that_cannot_queue_writes_nothing(staff_api, two_provider_cases, provider):
    provider.contacts.all().delete()
    response = _create(staff_api, {"urls": [two_provider_cases[0].pk], "send": True})
    assert response.status_code == 409
    assert response.json() == {"detail": "Polder Hosting has no working abuse contact; add one first."}
    assert _rows() == (0, 0, 0)


def test_notice_create_removal_order_needs_deadline(staff_api, two_provider_cases):
    response = _create(staff_api, {"urls": [two_provider_cases[0].pk], "notice_type": "removal_order"})
    assert response.status_code == 400
    assert response.json() == {"deadline_at": ["A removal order needs its own deadline."]}
    assert _rows() == (0, 0, 0)


def test_notice_create_removal_order_with_deadline(staff_api, two_provider_cases):
    body = {
        "urls": [two_provider_cases[0].pk],
        "notice_type": "removal_order",
        "deadline_at": "2030-01-01T00:00:00Z",
    }
    response = _create(staff_api, body)
    assert response.status_code == 201
    assert response.json()[0]["deadline_at"] == "2030-01-01T00:00:00Z"


def test_notice_create_url_not_assessed_is_400(staff_api, two_provider_cases, now):
    fresh = Url.objects.get(pk=submit_report(item=ReportInput(url="http://new.example/x"), now=now).url_id)
    response = _create(staff_api, {"urls": [two_provider_cases[0].pk, fresh.pk]})
    assert response.status_code == 400
    assert response.json() == {"urls": [f"URL {fresh.pk} is not assessed as illegal."]}
    assert _rows() == (0, 0, 0)


def test_notice_create_url_not_illegal_is_400(staff_api, two_provider_cases, analyst, now):
    from notices.services.assessment import assess_url

    case = two_provider_cases[0]
    assess_url(url=case, analyst=analyst, legality="not_illegal", now=now)
    response = _create(staff_api, {"urls": [case.pk]})
    assert response.status_code == 400
    assert response.json() == {"urls": [f"URL {case.pk} is not assessed as illegal."]}
    assert _rows() == (0, 0, 0)


def test_notice_create_url_without_provider_is_400(staff_api, two_provider_cases):
    case = two_provider_cases[0]
    Url.objects.filter(pk=case.pk).update(provider=None)
    response = _create(staff_api, {"urls": [case.pk, two_provider_cases[2].pk]})
    assert response.status_code == 400
    assert response.json() == {
        "urls": [f"URL {case.pk} has no hosting provider yet (trace it or set the provider)."]
    }
    assert _rows() == (0, 0, 0)


def test_notice_create_unknown_url_is_400(staff_api, two_provider_cases):
    response = _create(staff_api, {"urls": [two_provider_cases[0].pk, 999999, 10**20]})
    assert response.status_code == 400
    assert response.json() == {"urls": ["URL 999999 does not exist.", f"URL {10**20} does not exist."]}
    assert _rows() == (0, 0, 0)


def test_notice_create_url_in_open_notice_is_400(staff_api, two_provider_cases):
    a, b, _ = two_provider_cases
    assert _create(staff_api, {"urls": [a.pk]}).status_code == 201
    response = _create(staff_api, {"urls": [b.pk, a.pk]})
    assert response.status_code == 400
    assert response.json() == {"urls": [f"URL {a.pk} is already in an open notice to this provider."]}
    assert _rows() == (1, 1, 0)


def test_notice_create_several_problems_listed(staff_api, two_provider_cases, now):
    a, b, _ = two_provider_cases
    Url.objects.filter(pk=b.pk).update(provider=None)
    fresh = Url.objects.get(pk=submit_report(item=ReportInput(url="http://new.example/x"), now=now).url_id)
    response = _create(staff_api, {"urls": [a.pk, b.pk, fresh.pk]})
    assert response.status_code == 400
    assert sorted(response.json()["urls"]) == sorted(
        [
            f"URL {b.pk} has no hosting provider yet (trace it or set the provider).",
            f"URL {fresh.pk} is not assessed as illegal.",
        ]
    )
    assert _rows() == (0, 0, 0)


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"urls": ["This field is required."]}),
        ({"urls": []}, {"urls": ["Ensure this field has at least 1 elements."]}),
        ({"urls": "1"}, {"urls": ['Expected a list of items but got type "str".']}),
        ({"urls": [0]}, {"urls": {"0": ["Ensure this value is greater than or equal to 1."]}}),
        ({"urls": ["one"]}, {"urls": {"0": ["A valid integer is required."]}}),
        ({"urls": [1], "notice_type": "letter"}, {"notice_type": ['"letter" is not a valid choice.']}),
        (
            {"urls": [1], "deadline_at": "soon"},
            {
                "deadline_at": [
                    "Datetime has wrong format. Use one of these formats instead: "
                    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
                ]
            },
        ),
        ({"urls": [1], "send": "maybe"}, {"send": ["Must be a valid boolean."]}),
    ],
)
def test_notice_create_invalid_body_is_400(staff_api, body, errors):
    response = _create(staff_api, body)
    assert response.status_code == 400
    assert response.json() == errors
    assert _rows() == (0, 0, 0)


# --- send ---------------------------------------------------------------------------------------------------


def test_notice_send_email_provider_queues_outbox(staff_api, make_case, make_notice, provider, now):
    case = make_case(provider=provider, when=now)
    notice = make_notice(case, now=now, send=False)
    response = staff_api.post(f"/api/v1/notices/{notice.reference}/send/")
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["reference"], body["status"], body["sent_at"]) == (notice.reference, "queued", None)
    assert body["queued_at"] is not None
    assert body["deadline_at"] is not None
    message = OutgoingMessage.objects.get()
    assert (message.notice_id, message.status, message.recipients) == (
        notice.pk,
        "pending",
        ["abuse@polder.example"],
    )
    notice.refresh_from_db()
    assert (notice.status, notice.sent_at) == ("queued", None)
    case.refresh_from_db()
    assert (case.status, case.first_notice_sent_at) == ("assessed", None)
    assert (
        Event.objects.filter(kind="notice.queued", notice=notice, actor=f"key:{staff_api.key.prefix}").count()
        == 1
    )


def test_notice_send_api_only_provider_is_sent(staff_api, make_case, make_notice, api_only, now):
    case = make_case(provider=api_only, when=now)
    notice = make_notice(case, now=now, send=False)
    response = staff_api.post(f"/api/v1/notices/{notice.reference}/send/")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "sent"
    assert body["sent_at"] == body["queued_at"]
    assert OutgoingMessage.objects.count() == 0
    case.refresh_from_db()
    assert case.status == "notified"
    assert case.first_notice_sent_at == case.next_check_at
    assert (case.provider_at_notice, case.asn_at_notice, case.country_at_notice) == (api_only, 64500, "NL")


@pytest.mark.parametrize("channel", ["email", "api_only"])
def test_notice_send_twice_is_409(staff_api, make_case, make_notice, provider, now, channel):
    provider.channel = channel
    provider.save()
    notice = make_notice(make_case(provider=provider, when=now), now=now, send=False)
    assert staff_api.post(f"/api/v1/notices/{notice.reference}/send/").status_code == 202
    again = staff_api.post(f"/api/v1/notices/{notice.reference}/send/")
    assert again.status_code == 409
    status = "queued" if channel == "email" else "sent"
    assert again.json() == {"detail": f"Notice {notice.reference} is already {status}."}
    assert OutgoingMessage.objects.count() == (1 if channel == "email" else 0)


def test_notice_send_without_abuse_contact_is_409(staff_api, make_case, make_notice, provider, now):
    notice = make_notice(make_case(provider=provider, when=now), now=now, send=False)
    provider.contacts.all().delete()
    response = staff_api.post(f"/api/v1/notices/{notice.reference}/send/")
    assert response.status_code == 409
    assert response.json() == {"detail": "Polder Hosting has no working abuse contact; add one first."}
    notice.refresh_from_db()
    assert (notice.status, notice.queued_at) == ("draft", None)
    assert OutgoingMessage.objects.count() == 0


@pytest.mark.parametrize("reference", ["TN-2099-999999", "nonsense", "%00"])
def test_notice_send_unknown_reference_is_404(staff_api, reference):
    response = staff_api.post(f"/api/v1/notices/{reference}/send/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


# --- read ---------------------------------------------------------------------------------------------------


def test_notice_detail_by_reference(staff_api, sent_notice):
    response = staff_api.get(f"/api/v1/notices/{sent_notice.reference}/")
    assert response.status_code == 200
    body = response.json()
    assert (body["reference"], body["status"], body["provider"]["slug"]) == (
        sent_notice.reference,
        "sent",
        "polder",
    )
    assert sorted(i["url_id"] for i in body["items"]) == sorted(
        sent_notice.items.values_list("url_id", flat=True)
    )


@pytest.mark.parametrize("reference", ["TN-2099-999999", "tn-2026-000001", "%00"])
def test_notice_detail_unknown_reference_is_404(staff_api, sent_notice, reference):
    response = staff_api.get(f"/api/v1/notices/{reference}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_notice_list_filters(staff_api, make_case, make_notice, api_only, other_provider, now):
    sent = make_notice(make_case("http://files.polder.example/1", provider=api_only, when=now), now=now)
    draft = make_notice(
        make_case("http://cdn.balkan.example/2", provider=other_provider, when=now), now=now, send=False
    )

    def refs(query=""):
        response = staff_api.get(f"/api/v1/notices/{query}")
        assert response.status_code == 200, response.content
        return [n["reference"] for n in response.json()["results"]]

    assert refs() == [draft.reference, sent.reference]
    assert refs("?status=sent") == [sent.reference]
    assert refs("?status=draft") == [draft.reference]
    assert refs("?provider=balkan") == [draft.reference]
    assert refs("?status=closed") == []
    response = staff_api.get("/api/v1/notices/?status=lost")
    assert (response.status_code, response.json()) == (400, {"status": ['"lost" is not a valid choice.']})


def test_provider_list_fields(staff_api, provider, other_provider):
    response = staff_api.get("/api/v1/providers/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["slug"] for r in rows] == ["balkan", "polder"]
    assert rows[0] == {
        "id": other_provider.pk,
        "slug": "balkan",
        "name": "Balkan Hosting",
        "country": "BG",
        "is_eu": True,
        "language": "en",
        "time_zone": "UTC",
        "channel": "email",
    }
