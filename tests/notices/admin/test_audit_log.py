"""The admin writes the audit log (reads of pages that show URLs, every change a person makes) and lets the
auditor read it: filters by user, case, action, object type and date range, and a streamed CSV export that
needs `export_auditevent` and is itself audited. The retention settings are one audited row."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from notices.infra.events import audit
from notices.models import AuditEvent, Partner, RetentionPolicy

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:notices_auditevent_changelist"
EXPORT = "admin:notices_auditevent_export"


@pytest.fixture
def root(client, django_user_model):
    user = django_user_model.objects.create_superuser("chief", "chief@hotline.example", "chief-pass-123")
    client.force_login(user)
    return client


def _staff(client, django_user_model, *codenames: str):
    user = django_user_model.objects.create_user("auditor", password="auditor-pass-123", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


def _last(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).latest("pk")


# --- What the admin writes ---------------------------------------------------------------------------------


def test_url_pages_write_view_and_list_rows(root, make_case, provider, now):
    cases = [
        make_case(f"http://files.polder.example/{n}.html", provider=provider, when=now) for n in range(2)
    ]

    root.get(reverse("admin:notices_url_change", args=[cases[0].pk]))
    root.get(reverse("admin:notices_url_changelist"))

    view, listing = AuditEvent.objects.order_by("pk")
    assert (view.actor, view.action, view.object_type, view.object_id, view.ip) == (
        "user:chief",
        "url.view",
        "url",
        str(cases[0].pk),
        "127.0.0.1",
    )
    assert (listing.action, listing.object_id, listing.data) == (
        "url.list",
        "",
        {"urls": [cases[1].pk, cases[0].pk]},
    )


def test_notice_page_lists_its_urls(root, sent_notice):
    root.get(reverse("admin:notices_notice_change", args=[sent_notice.pk]))

    row = _last("notice.view")
    urls = sorted(sent_notice.items.values_list("url_id", flat=True))
    assert (row.object_id, row.data) == (sent_notice.reference, {"urls": urls})


def test_saves_deletions_and_actions_are_audited_with_who_and_where(root, make_case, provider, now):
    case = make_case(provider=provider, when=now)
    root.post(reverse("admin:notices_partner_add"), {"name": "Hotline Example", "country": "NL"})
    partner = Partner.objects.get(name="Hotline Example")
    root.post(
        reverse("admin:notices_partner_change", args=[partner.pk]),
        {"name": "Hotline Example", "country": "BE", "handoff_email": ""},
    )
    root.post(reverse("admin:notices_url_changelist"), {"action": "trace_now", "_selected_action": [case.pk]})
    root.post(reverse("admin:notices_partner_delete", args=[partner.pk]), {"post": "yes"})

    assert [
        (row.actor, row.action, row.object_type, row.object_id, row.ip, row.data)
        for row in AuditEvent.objects.exclude(action="url.list").order_by("pk")
    ] == [
        ("user:chief", "admin.add", "partner", str(partner.pk), "127.0.0.1", {"message": [{"added": {}}]}),
        (
            "user:chief",
            "admin.change",
            "partner",
            str(partner.pk),
            "127.0.0.1",
            {"message": [{"changed": {"fields": ["Country"]}}]},
        ),
        ("user:chief", "admin.action.trace_now", "url", "", "127.0.0.1", {"urls": [case.pk]}),
        ("user:chief", "admin.delete", "partner", str(partner.pk), "127.0.0.1", {"repr": "Hotline Example"}),
    ]
    assert not Partner.objects.exists()


def test_user_changes_are_audited(root, django_user_model):
    user = django_user_model.objects.create_user("newcomer", password="newcomer-pass-123")
    root.post(
        reverse("admin:auth_user_password_change", args=[user.pk]),
        {"password1": "a-long-new-pass-9", "password2": "a-long-new-pass-9", "usable_password": "true"},
    )
    row = _last("admin.change")
    assert (row.object_type, row.object_id, row.actor) == ("user", str(user.pk), "user:chief")


def test_retention_settings_are_one_audited_row(root, settings):
    settings.RETENTION_ENDED_CASES_DAYS = 400
    add = reverse("admin:notices_retentionpolicy_add")
    assert 'name="ended_cases_days" value="400"' in root.get(add).content.decode()

    root.post(add, {"ended_cases_days": "200", "not_illegal_days": "30", "purge_enabled": "on"})
    policy = RetentionPolicy.objects.get()
    assert (policy.pk, policy.ended_cases_days, policy.not_illegal_days) == (1, 200, 30)
    assert root.get(add).status_code == 403  # one row only
    change = reverse("admin:notices_retentionpolicy_change", args=[1])
    root.post(change, {"ended_cases_days": "0", "not_illegal_days": "30"})
    assert RetentionPolicy.objects.get().ended_cases_days == 200  # at least one day
    root.post(change, {"ended_cases_days": "365", "not_illegal_days": "30"})
    assert (RetentionPolicy.objects.get().ended_cases_days, RetentionPolicy.objects.get().purge_enabled) == (
        365,
        False,
    )
    assert [r.action for r in AuditEvent.objects.filter(object_type="retentionpolicy").order_by("pk")] == [
        "admin.add",
        "admin.change",
    ]
    assert root.get(reverse("admin:notices_retentionpolicy_delete", args=[1])).status_code == 403


# --- Reading the log ---------------------------------------------------------------------------------------


@pytest.fixture
def log(sent_notice):
    """Rows of two users over three days; notice and URL ids as the writers record them."""
    first, second = sorted(sent_notice.items.values_list("url_id", flat=True))
    now = timezone.now()
    made = [
        audit(actor="user:alice", action="url.view", object_type="url", object_id=str(first)),
        audit(actor="user:alice", action="url.list", object_type="url", data={"urls": [second, first]}),
        audit(actor="user:bob", action="notice.view", obj=sent_notice),
        audit(
            actor="key:abc123",
            action="notice.list",
            object_type="notice",
            data={"references": [sent_notice.reference]},
        ),
        audit(actor="user:bob", action="admin.change", object_type="hostingprovider", object_id="1"),
        audit(actor="user:bob", action="admin.action.trace_now", object_type="url", data={"urls": [second]}),
        audit(actor="=cmd|' /C calc'!A0", action="url.view", object_type="url", object_id="424242"),
    ]
    with connection.cursor() as cursor:  # a row of three days ago (`at` is set on insert, never changed)
        cursor.execute(
            f"INSERT INTO {AuditEvent._meta.db_table} (at, actor, action, object_type, object_id, data)"
            " VALUES (%s, 'user:carol', 'url.view', 'url', '999999', '{}') RETURNING id",
            [now - timedelta(days=3)],
        )
        old = cursor.fetchone()[0]
    return {"rows": made, "old": old, "first": first, "second": second, "now": now}


def _listed(client, **query) -> list[int]:
    response = client.get(reverse(CHANGELIST), query)
    assert response.status_code == 200, response
    return [row.pk for row in response.context["cl"].result_list]


def test_filters(root, log):
    rows = [row.pk for row in log["rows"]]
    assert _listed(root, actor="alice") == [rows[1], rows[0]]
    assert _listed(root, actor="key:abc123") == [rows[3]]
    assert _listed(root, case=str(log["first"])) == [rows[3], rows[2], rows[1], rows[0]]
    assert _listed(root, case=str(log["second"])) == [rows[5], rows[3], rows[2], rows[1]]
    assert _listed(root, action="url.view") == [rows[6], rows[0], log["old"]]
    assert _listed(root, action="admin.") == [rows[5], rows[4]]
    assert _listed(root, object_type="HostingProvider") == [rows[4]]
    assert _listed(root, actor="bob", case=str(log["second"])) == [rows[5], rows[2]]
    today = timezone.localdate()
    assert _listed(root, since=today.isoformat(), until=today.isoformat()) == rows[::-1]
    assert _listed(root, until=(today - timedelta(days=1)).isoformat()) == [log["old"]]
    assert _listed(root, since=(today - timedelta(days=3)).isoformat(), actor="carol") == [log["old"]]
    assert _listed(root, since=(timezone.now() + timedelta(hours=1)).isoformat()) == []


@pytest.mark.parametrize(
    "query",
    [{"case": "abc"}, {"case": "-1"}, {"case": "9" * 30}, {"since": "yesterday"}, {"until": "2026-02-30"}],
)
def test_a_wrong_filter_is_said_not_a_server_error(root, log, query):
    """The list says which filter could not use the value, and shows the log without it (no bare ?e=1)."""
    (name,) = query
    response = root.get(reverse(CHANGELIST), query)
    assert response.status_code == 200
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(f"({name}) cannot use that value" in message for message in shown), shown
    assert response.context["cl"].result_count == AuditEvent.objects.count()


@pytest.mark.parametrize("query", [{"case": "abc"}, {"bogus": "1"}, {"since": "yesterday", "actor": "bob"}])
def test_an_export_with_a_wrong_filter_exports_nothing(client, django_user_model, log, query):
    """A refused filter never widens an export: back to the list, with the message, and no export row."""
    _staff(client, django_user_model, "view_auditevent", "export_auditevent")
    response = client.get(reverse(EXPORT), query)
    assert response.status_code == 302 and response["Location"].startswith(reverse(CHANGELIST))
    assert not AuditEvent.objects.filter(action="audit.export").exists()
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(shown) == 1 and ("cannot use that value" in shown[0] or "no filter “bogus”" in shown[0])


def test_reading_the_log_needs_view_permission(client, django_user_model, log):
    _staff(client, django_user_model, "view_url")
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.get(reverse(EXPORT)).status_code == 403


def test_export_needs_its_own_permission(client, django_user_model, log):
    _staff(client, django_user_model, "view_auditevent")
    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200 and "Export these rows" not in page.content.decode()
    assert client.get(reverse(EXPORT)).status_code == 403
    assert not AuditEvent.objects.filter(action="audit.export").exists()


def test_export_streams_the_filtered_rows_and_is_audited(client, django_user_model, log):
    _staff(client, django_user_model, "view_auditevent", "export_auditevent")
    page = client.get(reverse(CHANGELIST), {"case": log["second"]}).content.decode()
    assert f'href="{reverse(EXPORT)}?case={log["second"]}"' in page

    response = client.get(reverse(EXPORT), {"case": log["second"]})

    assert (response.status_code, response.streaming, response["Content-Type"]) == (200, True, "text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert table[0] == ["at", "actor", "action", "object_type", "object_id", "ip", "data"]
    assert [(r[1], r[2], r[4]) for r in table[1:]] == [
        ("user:bob", "admin.action.trace_now", ""),
        ("key:abc123", "notice.list", ""),
        ("user:bob", "notice.view", log["rows"][2].object_id),
        ("user:alice", "url.list", ""),
    ]
    assert table[4][6] == f'{{"urls": [{log["second"]}, {log["first"]}]}}'
    export = _last("audit.export")
    assert (export.actor, export.object_type, export.data) == (
        "user:auditor",
        "auditevent",
        {"filters": {"case": str(log["second"])}, "rows": 4},
    )


def test_export_cells_never_run_as_spreadsheet_formulas(root, log):
    response = root.get(reverse(EXPORT), {"object_id": "424242"})
    body = b"".join(response.streaming_content).decode()
    assert "'=cmd|" in body and ",=cmd" not in body
