"""Staff API reads that contain URLs and staff API writes write one audit row each: who (the key's user, the
key in the data), when, from where, and for a list the ids it returned. Report intake writes none (P6)."""

from __future__ import annotations

import pytest

from notices.models import AuditEvent, Notice

pytestmark = pytest.mark.django_db


def rows() -> list[tuple]:
    return list(
        AuditEvent.objects.order_by("pk").values_list(
            "actor", "action", "object_type", "object_id", "ip", "data"
        )
    )


def test_url_list_writes_one_row_with_the_ids_of_the_page(staff_api, make_case, provider, now):
    cases = [
        make_case(f"http://files.polder.example/{n}.html", provider=provider, when=now) for n in range(3)
    ]
    key = staff_api.key.prefix

    response = staff_api.get("/api/v1/urls/?limit=2")
    assert response.status_code == 200
    assert rows() == [
        ("user:analyst", "url.list", "url", "", "127.0.0.1", {"key": key, "urls": [cases[2].pk, cases[1].pk]})
    ]
    staff_api.get(response.json()["next"])
    assert rows()[-1][5] == {"key": key, "urls": [cases[0].pk]}


def test_url_detail_writes_a_view_row_and_a_missing_one_none(staff_api, make_case, provider, now):
    case = make_case(provider=provider, when=now)

    assert staff_api.get(f"/api/v1/urls/{case.pk}/").status_code == 200
    assert staff_api.get("/api/v1/urls/999999/").status_code == 404
    assert rows() == [
        ("user:analyst", "url.view", "url", str(case.pk), "127.0.0.1", {"key": staff_api.key.prefix})
    ]


def test_notice_list_and_detail_are_audited(staff_api, sent_notice):
    staff_api.get("/api/v1/notices/")
    staff_api.get(f"/api/v1/notices/{sent_notice.reference}/")

    key = staff_api.key.prefix
    assert rows() == [
        (
            "user:analyst",
            "notice.list",
            "notice",
            "",
            "127.0.0.1",
            {"key": key, "references": [sent_notice.reference]},
        ),
        ("user:analyst", "notice.view", "notice", sent_notice.reference, "127.0.0.1", {"key": key}),
    ]


def test_staff_writes_are_audited(staff_api, make_case, provider, now):
    case = make_case(provider=provider, when=now)
    key = staff_api.key.prefix

    staff_api.post(
        f"/api/v1/urls/{case.pk}/assess/",
        {"legality": "illegal_international", "classification": "A2"},
        format="json",
    )
    staff_api.post(f"/api/v1/urls/{case.pk}/trace/")
    created = staff_api.post("/api/v1/notices/", {"urls": [case.pk]}, format="json")
    reference = created.json()[0]["reference"]
    staff_api.post(f"/api/v1/notices/{reference}/send/")

    assert [row[1:] for row in rows()] == [
        ("api.assess", "url", str(case.pk), "127.0.0.1", {"key": key, "legality": "illegal_international"}),
        ("api.trace", "url", str(case.pk), "127.0.0.1", {"key": key}),
        (
            "api.notice_create",
            "notice",
            "",
            "127.0.0.1",
            {"key": key, "references": [reference], "urls": [case.pk], "send": False},
        ),
        ("api.notice_send", "notice", reference, "127.0.0.1", {"key": key}),
    ]
    assert {row[0] for row in rows()} == {"user:analyst"}
    assert Notice.objects.get(reference=reference).status == "queued"


def test_refused_writes_write_no_row(staff_api, make_case, provider, now):
    case = make_case(provider=provider, when=now)
    assert (
        staff_api.post(
            f"/api/v1/urls/{case.pk}/assess/", {"legality": "illegal_international"}, format="json"
        ).status_code
        == 400
    )
    assert staff_api.post("/api/v1/notices/", {"urls": [999999]}, format="json").status_code == 400
    assert rows() == []


def test_report_intake_writes_no_audit_row(partner_api, staff_api):
    for client in (partner_api, staff_api):
        assert (
            client.post(
                "/api/v1/reports/", {"url": "http://files.polder.example/r.html"}, format="json"
            ).status_code
            == 201
        )
    assert rows() == []
