"""The role groups (notices/services/roles.py): what each role holds, kept in sync at every migrate, later
permissions granted by codename, the old all-permissions group retired, role assignment audited."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.models import Q

from notices.models import AuditEvent
from notices.services.roles import ANALYST, AUDITOR, ROLES, SUPERVISOR, assign_role, roles_of, sync_roles
from tests.conftest import staff_with_role

pytestmark = pytest.mark.django_db


def _codenames(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {
        f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
    }


def test_the_three_role_groups_exist_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= {ANALYST, SUPERVISOR, AUDITOR}


def test_analyst_works_cases_and_notices_but_deletes_nothing_and_edits_no_provider_or_user():
    held = _codenames(ANALYST)
    assert {
        "notices.add_report",
        "notices.change_url",
        "notices.add_assessment",
        "notices.add_hostingtrace",
        "notices.add_hostingoverride",
        "notices.add_notice",
        "notices.change_notice",
        "notices.add_analystreply",
        "notices.view_check",
        "notices.view_providerresponse",
        "notices.view_statssnapshot",
    } <= held
    assert not {p for p in held if ".delete_" in p}
    refused = {
        "notices.change_hostingprovider",
        "notices.change_providercontact",
        "notices.add_providercontact",
        "notices.change_noticetemplate",
        "auth.change_user",
        "auth.add_user",
        "notices.view_auditevent",
        "notices.view_apikey",
    }
    assert not held & refused


def test_supervisor_holds_everything_an_analyst_does_and_providers_templates_users():
    held = _codenames(SUPERVISOR)
    assert _codenames(ANALYST) <= held
    assert {
        "notices.change_hostingprovider",
        "notices.delete_hostingprovider",
        "notices.change_providercontact",
        "notices.change_noticetemplate",
        "auth.add_user",
        "auth.change_user",
        "notices.view_auditevent",
        "notices.change_apikey",
    } <= held
    # No case, notice, response, check or event is deleted, no record rewritten, no role redefined.
    never = {f"notices.delete_{m}" for m in ("url", "notice", "providerresponse", "check", "event")}
    never |= {f"notices.{a}_{m}" for a in ("change", "delete") for m in ("auditevent", "event", "check")}
    never |= {"auth.change_group", "auth.add_group", "auth.delete_user", "auth.change_permission"}
    assert not held & never


def test_auditor_only_views_everything_and_the_audit_log():
    held = _codenames(AUDITOR)
    assert {p.split(".", 1)[1].split("_", 1)[0] for p in held} == {"view", "export"}
    every_view = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.filter(content_type__app_label="notices", codename__startswith="view_")
    }
    assert every_view | {"auth.view_user", "auth.view_group", "notices.export_auditevent"} == held


def test_later_permissions_are_granted_by_codename_at_the_next_migrate():
    """Permissions that appear after the role table was written (the audit log's export, the retention
    settings) are granted as soon as migrate has created them, without touching the role table."""
    later = Permission.objects.filter(
        Q(codename="export_auditevent") | Q(content_type__model="retentionpolicy")
    )
    assert later.count() == 5
    later.delete()  # as before the migration that adds them
    assert not {"notices.export_auditevent", "notices.change_retentionpolicy"} & _codenames(SUPERVISOR)

    call_command("migrate", verbosity=0)

    assert {"notices.export_auditevent", "notices.change_retentionpolicy"} <= _codenames(SUPERVISOR)
    assert "notices.delete_retentionpolicy" not in _codenames(SUPERVISOR)
    assert {"notices.export_auditevent", "notices.view_retentionpolicy"} <= _codenames(AUDITOR)
    assert "notices.change_retentionpolicy" not in _codenames(AUDITOR)
    assert not {"notices.export_auditevent", "notices.view_retentionpolicy"} & _codenames(ANALYST)


def test_sync_resets_a_role_group_to_the_table():
    analyst_group = Group.objects.get(name=ANALYST)
    before = _codenames(ANALYST)
    analyst_group.permissions.add(Permission.objects.get(codename="delete_notice"))
    analyst_group.permissions.remove(Permission.objects.get(codename="change_url"))
    Group.objects.get(name=AUDITOR).delete()

    sync_roles()

    assert _codenames(ANALYST) == before
    assert Group.objects.filter(name=AUDITOR).exists()


def test_migration_makes_the_old_analysts_group_members_analysts_and_removes_it(django_user_model):
    old = Group.objects.create(name="Analysts")
    old.permissions.set(Permission.objects.filter(content_type__app_label="notices"))
    user = django_user_model.objects.create_user("veteran", password="veteran-pass-1", is_staff=True)
    user.groups.add(old)
    migration = importlib.import_module("notices.migrations.0024_roles")
    state_apps = MigrationLoader(connection).project_state(("notices", "0024_roles")).apps

    with connection.schema_editor() as editor:
        migration.create_roles(state_apps, editor)

    assert not Group.objects.filter(name="Analysts").exists()
    assert roles_of(user) == [ANALYST]
    assert not user.has_perm("notices.delete_notice")


def test_assign_role_leaves_one_role_makes_staff_and_audits(django_user_model):
    user = django_user_model.objects.create_user("newcomer", password="newcomer-pass-1")
    other = Group.objects.create(name="Newsletter")
    user.groups.add(other, Group.objects.get(name=AUDITOR))

    assign_role(user=user, role=SUPERVISOR, actor="user:chief")

    user.refresh_from_db()
    assert user.is_staff
    assert roles_of(user) == [SUPERVISOR]
    assert set(user.groups.values_list("name", flat=True)) == {SUPERVISOR, "Newsletter"}
    row = AuditEvent.objects.get(action="staff.roles")
    assert (row.actor, row.object_type, row.object_id, row.data) == (
        "user:chief",
        "user",
        str(user.pk),
        {"roles": [SUPERVISOR]},
    )


def test_roles_of_lists_roles_in_table_order():
    user = staff_with_role("many", AUDITOR)
    user.groups.add(Group.objects.get(name=ANALYST))
    assert roles_of(user) == [ANALYST, AUDITOR]
    assert roles_of(staff_with_role("none", None)) == []
    assert list(ROLES) == [ANALYST, SUPERVISOR, AUDITOR]
