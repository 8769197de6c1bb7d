"""Portal pages through Django's test client: list, notice page, responses, downloads, language, audit."""

from __future__ import annotations

import csv
import io
import json

import pytest

from notices.models import AuditEvent, Event, NoticeItem, ProviderResponse, Url

pytestmark = pytest.mark.django_db


def _audit_rows(**filters) -> list[tuple]:
    return list(
        AuditEvent.objects.filter(**filters).order_by("pk").values_list("actor", "action", "object_id")
    )


def test_notice_list_shows_own_open_notices_with_counts(desk_client, sent_notice, other_sent_notice):
    Url.objects.filter(notice_items__notice=sent_notice).update(last_outcome="live")
    response = desk_client.get("/portal/")
    body = response.content.decode()
    assert response.status_code == 200
    assert sent_notice.reference in body
    assert other_sent_notice.reference not in body
    assert response.context["rows"][0]["counts"] == {"urls": 2, "live": 2, "verifying": 0}
    assert response.context["counts"] == {"open": 1, "past": 0, "all": 1}
    assert _audit_rows(action="notice.list") == [
        ("user:polder-desk", "notice.list", str(sent_notice.provider_id))
    ]


def test_notice_list_filters(desk_client, sent_notice):
    assert desk_client.get("/portal/?view=past").context["rows"] == []
    assert [r["notice"] for r in desk_client.get("/portal/?view=all&status=sent").context["rows"]] == [
        sent_notice
    ]
    assert desk_client.get("/portal/?view=all&status=closed").context["rows"] == []
    assert [
        r["notice"] for r in desk_client.get(f"/portal/?q={sent_notice.reference[-4:]}").context["rows"]
    ] == [sent_notice]
    assert desk_client.get("/portal/?status=bogus&page=999").status_code == 200


def test_notice_page_defangs_urls_and_writes_audit_row(desk_client, sent_notice):
    response = desk_client.get(f"/portal/notices/{sent_notice.reference}/", REMOTE_ADDR="192.0.2.9")
    body = response.content.decode()
    assert response.status_code == 200
    assert "hxxp://files[.]polder[.]example/a.html" in body
    assert 'href="http://files.polder.example' not in body
    assert 'data-copy="http://files.polder.example/a.html"' in body
    assert list(AuditEvent.objects.values_list("actor", "action", "object_id", "ip")) == [
        ("user:polder-desk", "notice.view", sent_notice.reference, "192.0.2.9")
    ]


def test_notice_page_removed_with_statement_records_and_queues_check(desk_client, sent_notice):
    page = desk_client.get(f"/portal/notices/{sent_notice.reference}/")
    form = page.context["forms"]["removed"]
    first = sorted(sent_notice.items.values_list("url_id", flat=True))[0]
    data = {**{k: v for k, v in form.initial.items()}, "urls": [str(first)], "include_statement": "on"}
    data["content_date"] = str(data["content_date"])
    data["application_date"] = str(data["application_date"])
    response = desk_client.post(f"/portal/notices/{sent_notice.reference}/respond/removed/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    row = ProviderResponse.objects.get()
    assert row.action == "removed"
    assert list(row.urls.values_list("pk", flat=True)) == [first]
    assert row.statement_of_reasons["category_specification"] == ["KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"]
    assert row.statement_of_reasons["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert NoticeItem.objects.get(url_id=first).status == "reported_removed"
    assert Url.objects.get(pk=first).next_check_at == row.created_at
    assert _audit_rows(action="notice.respond.removed") == [
        ("user:polder-desk", "notice.respond.removed", sent_notice.reference)
    ]
    statements = desk_client.get(f"/portal/notices/{sent_notice.reference}/statements.json")
    exported = json.loads(statements.content)["statements"]
    assert [s["puid"] for s in exported] == [f"{sent_notice.reference}-{row.pk}"]
    assert exported[0]["category"] == "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"


def test_notice_page_removed_invalid_statement_shows_field_errors(desk_client, sent_notice):
    response = desk_client.post(
        f"/portal/notices/{sent_notice.reference}/respond/removed/",
        {"include_statement": "on", "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT"},
    )
    assert response.status_code == 400
    errors = response.context["forms"]["removed"].errors
    assert errors["category"] == ["This field is required."]
    assert errors["illegal_content_explanation"] == ["This field is required."]
    assert ProviderResponse.objects.count() == 0


@pytest.mark.parametrize(
    ("action", "data", "status"),
    [
        ("acknowledge", {}, "acknowledged"),
        ("need_info", {"message": "Which file exactly?"}, "acknowledged"),
        ("refused", {"message": "Court order says otherwise."}, "disputed"),
        ("not_our_customer", {"suggested_provider": "Example Cloud", "message": ""}, "disputed"),
    ],
)
def test_notice_page_other_answers(desk_client, sent_notice, action, data, status):
    response = desk_client.post(f"/portal/notices/{sent_notice.reference}/respond/{action}/", data)
    assert response.status_code == 302
    sent_notice.refresh_from_db()
    assert sent_notice.status == status
    assert ProviderResponse.objects.get().action == action
    event = Event.objects.get(kind="notice.response")
    if action == "not_our_customer":
        assert event.data["suggested_provider"] == "Example Cloud"


def test_notice_page_refused_needs_a_reason(desk_client, sent_notice):
    response = desk_client.post(f"/portal/notices/{sent_notice.reference}/respond/refused/", {"message": ""})
    assert response.status_code == 400
    assert ProviderResponse.objects.count() == 0


def test_downloads_build_xarf_and_csv_from_the_notice(desk_client, sent_notice):
    csv_response = desk_client.get(f"/portal/notices/{sent_notice.reference}/urls.csv")
    rows = list(csv.DictReader(io.StringIO(csv_response.content.decode())))
    assert [r["url"] for r in rows] == [
        "http://files.polder.example/a.html",
        "http://files.polder.example/b.html",
    ]
    assert csv_response["Content-Disposition"] == f'attachment; filename="urls-{sent_notice.reference}.csv"'
    reports = json.loads(desk_client.get(f"/portal/notices/{sent_notice.reference}/xarf.json").content)
    assert [(r["category"], r["type"], r["url"]) for r in reports] == [
        ("content", "csam", "http://files.polder.example/a.html"),
        ("content", "csam", "http://files.polder.example/b.html"),
    ]
    first = sorted(sent_notice.items.values_list("url_id", flat=True))[0]
    one = json.loads(desk_client.get(f"/portal/notices/{sent_notice.reference}/xarf/{first}.json").content)
    assert one["url"] == "http://files.polder.example/a.html"
    assert [a[1] for a in _audit_rows(action="notice.export")] == ["notice.export"] * 3


def test_language_follows_provider_then_choice(desk_client, sent_notice, provider):
    provider.language = "de"
    provider.save(update_fields=["language"])
    assert "Takedown-Meldungen" in desk_client.get("/portal/").content.decode()
    desk_client.post("/portal/language/", {"language": "fr", "next": "/portal/"})
    assert "Notifications de retrait" in desk_client.get("/portal/").content.decode()


def test_status_json_has_no_urls(desk_client, sent_notice):
    body = desk_client.get(f"/portal/notices/{sent_notice.reference}/status.json").json()
    assert [set(i) for i in body["items"]] == [{"url_id", "status", "last_outcome", "last_checked_at"}] * 2
    assert "polder" not in json.dumps(body)
