"""Staff users and roles in the admin (notices/admin/staff.py) and pages that follow the role: a supervisor
gives roles but never superuser rights, never changes a superuser; an action naming no permission is offered
to nobody; the URL page offers assessing and overrides only to who may change the case."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse

from notices.admin.common import TrackerModelAdmin
from notices.models import AuditEvent, Partner
from tests.conftest import staff_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(client):
    user = staff_with_role("chief", "Supervisor")
    client.force_login(user)
    return client


def _change(client, user, **fields):
    data = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "is_staff": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "00:00:00",
        **fields,
    }
    return client.post(reverse("admin:auth_user_change", args=[user.pk]), data)


def test_supervisor_user_form_has_roles_but_no_superuser_or_single_permissions(supervisor, analyst):
    form = supervisor.get(reverse("admin:auth_user_change", args=[analyst.pk])).context["adminform"].form
    assert "is_superuser" not in form.fields
    assert "user_permissions" not in form.fields
    assert set(form.fields["groups"].queryset.values_list("name", flat=True)) == {
        "Analyst",
        "Auditor",
        "Supervisor",
    }


def test_supervisor_changes_a_role_and_the_change_is_audited(supervisor, analyst):
    auditor_group = Group.objects.get(name="Auditor")

    response = _change(supervisor, analyst, groups=[str(auditor_group.pk)])

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(analyst.groups.values_list("name", flat=True)) == ["Auditor"]
    row = AuditEvent.objects.get(action="staff.roles")
    assert (row.actor, row.object_id, row.data) == ("user:chief", str(analyst.pk), {"roles": ["Auditor"]})


def test_supervisor_cannot_make_anyone_superuser_or_grant_a_group_that_is_no_role(supervisor, analyst):
    other = Group.objects.create(name="Everything")
    response = _change(supervisor, analyst, is_superuser="on", groups=[str(other.pk)])
    assert response.status_code == 200  # the group is not a choice: a form error
    assert "groups" in response.context["adminform"].form.errors

    response = _change(supervisor, analyst, is_superuser="on", groups=[])
    assert response.status_code == 302
    analyst.refresh_from_db()
    assert not analyst.is_superuser


def test_supervisor_sees_a_superuser_but_changes_nothing_of_it(supervisor):
    root = staff_with_role("root", None, superuser=True)
    assert supervisor.get(reverse("admin:auth_user_change", args=[root.pk])).status_code == 200
    assert _change(supervisor, root, is_staff="").status_code == 403
    password = reverse("admin:auth_user_password_change", args=[root.pk])
    assert supervisor.post(password, {"password1": "x" * 20, "password2": "x" * 20}).status_code == 403
    root.refresh_from_db()
    assert root.is_staff and root.check_password("root-pass-123")


def test_supervisor_cannot_change_what_a_role_may_do(supervisor):
    group = Group.objects.get(name="Analyst")
    response = supervisor.post(reverse("admin:auth_group_change", args=[group.pk]), {"name": "Analyst"})
    assert response.status_code == 403


def test_an_action_naming_no_permission_is_offered_to_nobody(django_user_model):
    class Probe(TrackerModelAdmin):
        actions = ["open_to_all", "for_editors"]

        @admin.action(description="No permission named")
        def open_to_all(self, request, queryset) -> None:
            raise AssertionError("never offered")

        @admin.action(description="Needs change", permissions=["change"])
        def for_editors(self, request, queryset) -> None:
            raise AssertionError("only listed here")

    request = RequestFactory().get("/admin/")
    request.user = django_user_model.objects.create_superuser("root", password="root-pass-123")
    assert set(Probe(Partner, admin.site).get_actions(request)) == {"for_editors", "delete_selected"}


@pytest.mark.parametrize(("role", "offered"), [("Analyst", True), ("Supervisor", True), ("Auditor", False)])
def test_url_page_offers_assess_and_override_only_to_who_may_change_the_case(
    client, make_case, provider, now, role, offered
):
    case = make_case(provider=provider, when=now)
    client.force_login(staff_with_role("someone", role))
    page = client.get(reverse("admin:notices_url_change", args=[case.pk])).content.decode()
    assess = reverse("admin:notices_url_assess", args=[case.pk])
    override = reverse("admin:notices_url_override", args=[case.pk])
    assert (assess in page, override in page) == (offered, offered)


@pytest.mark.parametrize(("role", "linked"), [("Auditor", True), (None, False)])
def test_admin_index_links_the_dashboard_for_a_role_only(client, role, linked):
    client.force_login(staff_with_role("someone", role))
    assert ("Open the dashboard" in client.get(reverse("admin:index")).content.decode()) == linked
