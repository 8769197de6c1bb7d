"""The case timeline (Event) and the audit log (AuditEvent) are append-only: the database refuses UPDATE and
DELETE of their rows — raw SQL as the application's database user included — and the admin offers no add,
change or delete, not even to a superuser. The only door is the retention purge's: inside its own transaction
(`SET LOCAL notices.retention_purge = 'on'`) the `data` column may be redacted, nothing else."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import ProgrammingError, connection, transaction
from django.test import RequestFactory
from django.urls import reverse

from notices.infra.events import audit, record_event
from notices.models import AuditEvent, Event, Url
from notices.services.intake import ReportInput, submit_report

TABLES = [Event._meta.db_table, AuditEvent._meta.db_table]


@pytest.fixture
def rows(db, now):
    """A case with its `url.created` event, one more event and one audit row; returns (event, audit row)."""
    result = submit_report(item=ReportInput(url="http://files.polder.example/a.html"), now=now)
    url = Url.objects.get(pk=result.url_id)
    event = record_event("url.note", at=now, url=url, data={"note": "kept"})
    row = audit(actor="user:analyst", action="url.view", obj=url, ip="192.0.2.7")
    return event, row


def _refused(sql: str, params=()) -> str:
    """Run `sql` in a savepoint; return the database's refusal (the test fails if it is accepted)."""
    with pytest.raises(ProgrammingError) as refusal, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(refusal.value)


def _all(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} ORDER BY id")
        return cursor.fetchall()


@pytest.mark.parametrize("table", TABLES)
def test_raw_update_and_delete_are_refused_by_the_database(rows, table):
    assert connection.settings_dict["USER"] == connection.cursor().connection.info.user  # the app's user
    before = _all(table)

    assert "append-only: UPDATE refused" in _refused(f"UPDATE {table} SET data = '{{\"x\": 1}}'")
    assert "append-only: UPDATE refused" in _refused(f"UPDATE {table} SET actor = 'someone else'")
    assert "append-only: DELETE refused" in _refused(f"DELETE FROM {table}")
    assert _all(table) == before != []


def test_orm_updates_and_deletes_are_refused(rows):
    event, row = rows
    for query in (Event.objects.filter(pk=event.pk), AuditEvent.objects.filter(pk=row.pk)):
        with pytest.raises(ProgrammingError, match="append-only"), transaction.atomic():
            query.update(data={"rewritten": True})
        with pytest.raises(ProgrammingError, match="append-only"), transaction.atomic():
            query.delete()
    event.data = {"note": "changed"}
    with pytest.raises(ProgrammingError, match="append-only"), transaction.atomic():
        event.save()
    assert Event.objects.get(pk=event.pk).data == {"note": "kept"}
    assert AuditEvent.objects.get(pk=row.pk).ip == "192.0.2.7"


def test_a_case_with_a_timeline_cannot_be_deleted(rows):
    """Django deletes a case's events first (its cascade is DELETE statements): the database refuses."""
    event, _ = rows
    with pytest.raises(ProgrammingError, match="notices_event rows are append-only"), transaction.atomic():
        Url.objects.filter(pk=event.url_id).delete()
    assert Url.objects.filter(pk=event.url_id).exists()
    assert Event.objects.filter(url_id=event.url_id).count() == 2


@pytest.mark.parametrize("table", TABLES)
def test_the_purge_door_lets_only_data_change_and_never_a_delete(rows, table):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL notices.retention_purge = 'on'")
        cursor.execute(f"UPDATE {table} SET data = '{{\"redacted\": true}}'")
        assert cursor.rowcount >= 1
        assert "UPDATE refused" in _refused(f"UPDATE {table} SET actor = 'someone else'")
        assert "DELETE refused" in _refused(f"DELETE FROM {table}")
        cursor.execute("SET LOCAL notices.retention_purge = 'off'")
        assert "UPDATE refused" in _refused(f"UPDATE {table} SET data = '{{}}'")


@pytest.mark.django_db(transaction=True)
def test_the_door_closes_with_its_transaction(now):
    result = submit_report(item=ReportInput(url="http://files.polder.example/b.html"), now=now)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL notices.retention_purge = 'on'")
        cursor.execute(
            f"UPDATE {TABLES[0]} SET data = '{{\"redacted\": true}}' WHERE url_id = %s", [result.url_id]
        )

    # A later transaction on the same connection finds it shut.
    with pytest.raises(ProgrammingError, match="append-only"), transaction.atomic():
        Event.objects.filter(url_id=result.url_id).update(data={})
    assert Event.objects.get(url_id=result.url_id).data == {"redacted": True}


@pytest.mark.parametrize("model", [Event, AuditEvent])
def test_the_admin_offers_no_add_change_or_delete_even_to_a_superuser(rows, client, django_user_model, model):
    root = django_user_model.objects.create_superuser("root", "root@hotline.example", "root-pass-123")
    client.force_login(root)
    request = RequestFactory().get("/admin/")
    request.user = root
    model_admin = admin.site._registry[model]
    obj = model.objects.order_by("pk").first()
    info = f"admin:notices_{model._meta.model_name}"

    assert (
        model_admin.has_add_permission(request),
        model_admin.has_change_permission(request, obj),
        model_admin.has_delete_permission(request, obj),
        model_admin.has_view_permission(request, obj),
    ) == (False, False, False, True)
    assert "delete_selected" not in model_admin.get_actions(request)
    assert client.get(reverse(f"{info}_add")).status_code == 403
    assert client.get(reverse(f"{info}_delete", args=[obj.pk])).status_code == 403
    assert client.post(reverse(f"{info}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
    before = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
    client.post(reverse(f"{info}_change", args=[obj.pk]), {"data": "{}", "actor": "x", "kind": "x"})
    obj.refresh_from_db()
    assert {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields} == before
