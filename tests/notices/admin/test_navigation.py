"""The admin's navigation grouped by task (notices/admin_site.py): the index and the sidebar, per role."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from notices.admin_site import NAVIGATION, TrackerAdminSite
from tests.conftest import staff_with_role

pytestmark = pytest.mark.django_db

GROUP_ORDER = ["intake", "cases", "notices", "providers", "registry", "reports", "settings", "audit"]


@pytest.fixture
def users(db):
    return {
        "analyst": staff_with_role("analyst", "Analyst"),
        "supervisor": staff_with_role("supervisor", "Supervisor"),
        "auditor": staff_with_role("auditor", "Auditor"),
        "norole": staff_with_role("norole", None),
        "superuser": get_user_model().objects.create_superuser("root", "root@hotline.example", "root-pass-1"),
    }


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _labels(app_list) -> list[str]:
    return [
        f"{group['app_label']}:{entry.get('admin_url')}" for group in app_list for entry in group["models"]
    ]


def test_the_site_is_the_trackers():
    assert isinstance(admin.site._wrapped, TrackerAdminSite)


def test_every_registered_model_is_in_exactly_one_group():
    named = [entry for _key, _title, _about, entries in NAVIGATION for entry in entries]
    models = [entry for entry in named if not entry.startswith("page:")]
    assert len(models) == len(set(models))
    assert set(models) == {model._meta.label for model in admin.site._registry}


def test_superuser_sees_every_group_in_task_order_and_every_model(users):
    app_list = admin.site.get_app_list(_request(users["superuser"]))
    assert [group["app_label"] for group in app_list] == GROUP_ORDER  # no "other": every model is placed
    urls = {entry["admin_url"] for group in app_list for entry in group["models"]}
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        assert f"/admin/{info[0]}/{info[1]}/" in urls, model
    assert {"/admin/dashboard/", "/admin/transparency/", "/admin/trusted-flagger-report/"} <= urls
    assert "/admin/notices/url/enter/" in urls
    cases = next(group for group in app_list if group["app_label"] == "cases")
    assert cases["models"][0]["admin_url"] == "/admin/notices/url/"  # the case list first


@pytest.mark.parametrize("role", ["analyst", "supervisor", "auditor", "norole"])
def test_each_role_sees_exactly_the_models_it_may_open(users, role):
    request = _request(users[role])
    app_list = admin.site.get_app_list(request)
    shown = {entry["admin_url"] for group in app_list for entry in group["models"]}
    may = {
        f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for model, model_admin in admin.site._registry.items()
        if model_admin.has_view_or_change_permission(request)
    }
    pages = {
        url for url in shown if not url.startswith("/admin/notices/") and not url.startswith("/admin/auth/")
    }
    assert shown - pages - {"/admin/notices/url/enter/"} == may
    stats = users[role].has_perm("notices.view_statssnapshot")
    assert ("/admin/dashboard/" in shown) == stats
    assert ("/admin/notices/url/enter/" in shown) == users[role].has_perm("notices.add_report")
    assert all(group["models"] for group in app_list)  # a group with nothing to show is left out


def test_role_groups_differ_as_the_roles_do(users):
    def groups(role):
        return [group["app_label"] for group in admin.site.get_app_list(_request(users[role]))]

    assert groups("norole") == []
    assert "audit" not in groups("analyst")  # the audit log is for supervisors and auditors
    assert "audit" in groups("auditor")
    analyst_entries = _labels(admin.site.get_app_list(_request(users["analyst"])))
    assert "intake:/admin/notices/url/enter/" in analyst_entries
    assert "intake:/admin/notices/url/enter/" not in _labels(
        admin.site.get_app_list(_request(users["auditor"]))
    )  # an auditor reads, never enters reports
    assert "settings:/admin/auth/user/" not in analyst_entries


def test_index_and_sidebar_show_the_groups_offline(client, users):
    client.force_login(users["analyst"])
    index = client.get("/admin/").content.decode()
    ids = re.findall(r'id="group-([a-z]+)"', index)
    assert ids == [g for g in GROUP_ORDER if g != "audit"]
    assert "Enter reports" in index and "Models in the" not in index
    page = client.get("/admin/notices/url/").content.decode()
    sidebar = page[page.index('id="nav-sidebar"') :]
    assert re.findall(r'id="group-([a-z]+)"', sidebar) == ids
    assert 'aria-current="page"' in sidebar  # the case list, where we are
    for html in (index, page):  # nothing is loaded from another site
        assert not re.search(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//', html)


def test_per_app_page_keeps_djangos_list(client, users):
    client.force_login(users["superuser"])
    response = client.get("/admin/notices/")
    assert response.status_code == 200
    assert [app["app_label"] for app in response.context["app_list"]] == ["notices"]
