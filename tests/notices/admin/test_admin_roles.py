"""Role × admin page: every admin URL, custom view and action, walked as each role, allowed or denied exactly.

The roles (README "Roles", notices/services/roles.py): analyst, supervisor, auditor, a staff user without a
role, and a superuser. The tables below say who may do what; the walk asserts each answer. A page the admin
serves that no table names — a new model, custom view or action — fails the two `test_every_admin_…` tests.

Allowed and denied mean: a page answers 200 (a POST 200 with the form's errors, or 302 when it saved) or 403;
an action the user may run runs (its own answer), one it may not is not offered (the changelist again, or
"No action selected.") or the changelist itself is 403.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.db import transaction
from django.urls import URLPattern, URLResolver, reverse

from tests.conftest import staff_with_role

pytestmark = pytest.mark.django_db

ROLES = ["analyst", "supervisor", "auditor", "norole", "superuser"]

# Who: sets of roles.
ALL = frozenset({"analyst", "supervisor", "auditor", "superuser"})  # every role (not staff without one)
WORK = frozenset({"analyst", "supervisor", "superuser"})  # the roles that work cases and notices
SUP = frozenset({"supervisor", "superuser"})
AUDIT = frozenset({"supervisor", "auditor", "superuser"})  # the audit log, users, keys
ROOT = frozenset({"superuser"})
NOBODY = frozenset()
STAFF = frozenset(ROLES)  # every staff user, with or without a role

# Each registered model: who may view (changelist, change page, history), add (add page), change (POST to the
# change page) and delete (delete page) it. "NOBODY" where the page itself refuses (system records are view
# only; URLs, notices and webhook endpoints are never added here).
MODELS = {
    #                             view   add     change  delete
    "notices.Url": (ALL, NOBODY, WORK, NOBODY),  # closed, never deleted
    "notices.Report": (ALL, NOBODY, NOBODY, NOBODY),
    "notices.Assessment": (ALL, NOBODY, NOBODY, NOBODY),
    "notices.HostingTrace": (ALL, NOBODY, NOBODY, NOBODY),
    "notices.HostingOverride": (ALL, WORK, WORK, SUP),
    "notices.Check": (ALL, NOBODY, NOBODY, NOBODY),
    "notices.Event": (ALL, NOBODY, NOBODY, NOBODY),
    "notices.Escalation": (ALL, NOBODY, NOBODY, NOBODY),
    "notices.EscalationPolicy": (ALL, SUP, SUP, SUP),
    "notices.StepRun": (ALL, NOBODY, NOBODY, NOBODY),
    "notices.Referral": (ALL, NOBODY, NOBODY, NOBODY),
    "notices.AnalystAlert": (ALL, NOBODY, NOBODY, NOBODY),
    "notices.ClockStop": (ALL, NOBODY, NOBODY, NOBODY),  # holds placed from the cases' page
    "notices.RemovalOrder": (ALL, WORK, NOBODY, NOBODY),  # recorded, never edited: its clock is paused
    "notices.Partner": (ALL, SUP, SUP, ROOT),
    "notices.Notice": (ALL, NOBODY, WORK, NOBODY),  # withdrawn, never deleted
    "notices.OutgoingMessage": (ALL, NOBODY, NOBODY, NOBODY),
    "notices.InboundMessage": (ALL, NOBODY, NOBODY, NOBODY),
    "notices.ProviderResponse": (ALL, NOBODY, NOBODY, NOBODY),
    "notices.ProviderQuestion": (ALL, NOBODY, NOBODY, NOBODY),
    "notices.AnalystReply": (ALL, WORK, NOBODY, NOBODY),
    "notices.HostingProvider": (ALL, SUP, SUP, SUP),
    "notices.ProviderContact": (ALL, SUP, SUP, SUP),
    "notices.ProviderMembership": (ALL, SUP, SUP, SUP),
    "notices.RoutingPrefix": (ALL, SUP, SUP, SUP),
    "notices.RegistryImport": (ALL, NOBODY, NOBODY, NOBODY),
    "notices.Invitation": (ALL, SUP, SUP, ROOT),
    "notices.WebhookEndpoint": (ALL, NOBODY, SUP, ROOT),
    "notices.WebhookDelivery": (ALL, NOBODY, NOBODY, NOBODY),
    "notices.NoticeTemplate": (ALL, SUP, SUP, SUP),
    "notices.ApiKey": (AUDIT, NOBODY, SUP, ROOT),
    "notices.AuditEvent": (AUDIT, NOBODY, NOBODY, NOBODY),
    # One row of settings (it exists, so no add); never deleted.
    "notices.RetentionPolicy": (AUDIT, NOBODY, SUP, NOBODY),
    "auth.User": (AUDIT, SUP, SUP, ROOT),
    "auth.Group": (AUDIT, ROOT, ROOT, ROOT),
}

# Each action of each model's page: who may run it. Django's "delete selected" is on every page, for those who
# may delete (the table above); the others are the project's.
ACTIONS = {
    **{(label, "delete_selected"): delete for label, (_view, _add, _change, delete) in MODELS.items()},
    ("notices.Url", "assess_selected"): WORK,
    ("notices.Url", "trace_now"): WORK,
    ("notices.Url", "check_now"): WORK,
    ("notices.Url", "create_hotline_notices"): WORK,
    ("notices.Url", "refer_to_police"): WORK,
    ("notices.Url", "hand_off_to_partner"): WORK,
    ("notices.Notice", "send_notices"): WORK,
    ("notices.Url", "close_cases"): WORK,
    ("notices.Url", "reopen_cases"): WORK,
    ("notices.Url", "assign_to_me"): WORK,
    ("notices.Url", "assign_selected"): WORK,
    ("notices.Url", "verify_selected"): WORK,
    ("notices.Notice", "withdraw_notices"): WORK,
    ("notices.HostingProvider", "merge_selected_providers"): SUP,
    ("notices.Invitation", "revoke"): SUP,
    ("notices.ApiKey", "revoke"): SUP,
    ("auth.User", "reset_second_factor"): SUP,
    ("notices.Referral", "export_csv"): WORK,
    ("notices.AnalystAlert", "acknowledge"): WORK,
    ("notices.AnalystAlert", "resolve"): WORK,
    ("notices.Url", "place_hold"): WORK,
    ("notices.ClockStop", "clear_holds"): WORK,
    ("notices.ClockStop", "end_selected_pauses"): WORK,
    ("notices.RemovalOrder", "pause_for_clarification"): WORK,
    ("notices.RemovalOrder", "pause_for_force_majeure"): WORK,
    ("notices.RemovalOrder", "resume_clock"): WORK,
}

# Every other admin URL (by name), with what a request to it answers per role: (method, path maker, {status:
# roles}); the path maker gets the walked objects. Roles not named get 403.
CUSTOM = {
    "dashboard": [("GET", lambda o: "/admin/dashboard/", {200: ALL})],
    "scorecard": [("GET", lambda o: f"/admin/scorecard/{o['notices.HostingProvider'].slug}/", {200: ALL})],
    "transparency": [
        ("GET", lambda o: "/admin/transparency/", {200: ALL}),
        ("GET", lambda o: "/admin/transparency/?year=2025&format=csv", {200: ALL}),
    ],
    "trusted_flagger_report": [
        ("GET", lambda o: "/admin/trusted-flagger-report/", {200: ALL}),
        ("GET", lambda o: "/admin/trusted-flagger-report/?year=2025&notice_type=all&format=csv", {200: ALL}),
    ],
    "admin:index": [("GET", lambda o: reverse("admin:index"), {200: STAFF})],
    "admin:app_list": [
        ("GET", lambda o: reverse("admin:app_list", args=["notices"]), {200: ALL, 404: {"norole"}}),
        ("GET", lambda o: reverse("admin:app_list", args=["auth"]), {200: AUDIT, 404: {"analyst", "norole"}}),
    ],
    "admin:login": [("GET", lambda o: reverse("admin:login"), {302: STAFF})],  # signed in: to the index
    "admin:password_change": [("GET", lambda o: reverse("admin:password_change"), {200: STAFF})],
    "admin:password_change_done": [("GET", lambda o: reverse("admin:password_change_done"), {200: STAFF})],
    "admin:jsi18n": [("GET", lambda o: reverse("admin:jsi18n"), {200: STAFF})],
    # No model has a page outside the admin: the shortcut finds none, for everybody.
    "admin:view_on_site": [("GET", lambda o: _view_on_site(o["notices.Url"]), {404: STAFF})],
    # The provider field of an override: who may view providers may look them up.
    "admin:autocomplete": [
        (
            "GET",
            lambda o: (
                reverse("admin:autocomplete")
                + "?app_label=notices&model_name=hostingoverride&field_name=provider&term=pol"
            ),
            {200: ALL},
        )
    ],
    "admin:notices_url_assess": [
        ("GET", lambda o: reverse("admin:notices_url_assess", args=[o["notices.Url"].pk]), {200: WORK}),
        ("POST", lambda o: reverse("admin:notices_url_assess", args=[o["notices.Url"].pk]), {200: WORK}),
    ],
    # A site's group: who may view cases.
    "admin:notices_url_site": [
        (
            "GET",
            lambda o: reverse("admin:notices_url_site", args=[o["notices.Url"].site or "x.example"]),
            {200: ALL},
        ),
    ],
    # Reports entered by hand: who may add reports (an empty POST is the form again, with its errors).
    "admin:notices_url_enter": [
        ("GET", lambda o: reverse("admin:notices_url_enter"), {200: WORK}),
        ("POST", lambda o: reverse("admin:notices_url_enter"), {200: WORK}),
    ],
    # A draft's Send button: back to the notice's page (a notice no longer a draft says so there).
    "admin:notices_notice_send": [
        ("POST", lambda o: reverse("admin:notices_notice_send", args=[o["notices.Notice"].pk]), {302: WORK}),
    ],
    # Four eyes: verify the case's assessment (back to the case, with a message either way).
    "admin:notices_url_verify": [
        ("POST", lambda o: reverse("admin:notices_url_verify", args=[o["notices.Url"].pk]), {302: WORK}),
    ],
    # A dispute in one place: read by every role; re-trace / reassign / notify by who works cases.
    "admin:notices_url_dispute": [
        ("GET", lambda o: reverse("admin:notices_url_dispute", args=[o["notices.Url"].pk]), {200: ALL}),
        ("POST", lambda o: reverse("admin:notices_url_dispute", args=[o["notices.Url"].pk]), {302: WORK}),
    ],
    "admin:notices_url_override": [
        ("GET", lambda o: reverse("admin:notices_url_override", args=[o["notices.Url"].pk]), {200: WORK}),
        ("POST", lambda o: reverse("admin:notices_url_override", args=[o["notices.Url"].pk]), {200: WORK}),
    ],
    "admin:notices_noticetemplate_preview": [
        (
            "GET",
            lambda o: reverse("admin:notices_noticetemplate_preview", args=[o["notices.NoticeTemplate"].pk]),
            {200: ALL},
        )
    ],
    # A staff user's password is the supervisor's to reset; a superuser's is nobody's but a superuser's.
    "admin:auth_user_password_change": [
        ("GET", lambda o: reverse("admin:auth_user_password_change", args=[o["auth.User"].pk]), {200: SUP}),
        ("GET", lambda o: reverse("admin:auth_user_password_change", args=[o["root"].pk]), {200: ROOT}),
    ],
    # A lost second factor is the supervisor's to reset; a superuser's is nobody's but a superuser's.
    "admin:auth_user_reset_second_factor": [
        (
            "GET",
            lambda o: reverse("admin:auth_user_reset_second_factor", args=[o["auth.User"].pk]),
            {200: SUP},
        ),
        ("GET", lambda o: reverse("admin:auth_user_reset_second_factor", args=[o["root"].pk]), {200: ROOT}),
    ],
    # The audit log's CSV export: supervisors and auditors.
    "admin:notices_auditevent_export": [
        ("GET", lambda o: reverse("admin:notices_auditevent_export"), {200: AUDIT})
    ],
    # Last: it signs the user out.
    "admin:logout": [("POST", lambda o: reverse("admin:logout"), {200: STAFF})],
}
PAGES = ["changelist", "add", "change", "delete", "history"]
NOT_OFFERED = "No action selected."


def _view_on_site(obj) -> str:
    content_type = ContentType.objects.get_for_model(obj)
    return reverse("admin:view_on_site", args=[content_type.pk, obj.pk])


def _admin_url_names(patterns, namespace: str = "admin") -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            names |= _admin_url_names(pattern.url_patterns, namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}:{pattern.name}")
    return names


def _label(model) -> str:
    return model._meta.label


def _staff_pages_outside_the_admin_site() -> set[str]:
    """Named pages under /admin/ that the admin site does not serve itself (the dashboard)."""
    from tracker.urls import urlpatterns

    return {p.name for p in urlpatterns if isinstance(p, URLPattern) and str(p.pattern).startswith("admin/")}


def test_every_admin_url_is_in_the_table():
    served = _admin_url_names(admin.site.get_urls()) | _staff_pages_outside_the_admin_site()
    tabled = set(CUSTOM)
    for model in admin.site._registry:
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        tabled |= {f"{info}_{page}" for page in PAGES}
    assert served == tabled
    assert {_label(m) for m in admin.site._registry} == set(MODELS)


def test_every_admin_action_is_in_the_table():
    declared = {
        (_label(model), name)
        for model, model_admin in admin.site._registry.items()
        for _func, name, _description in model_admin._get_base_actions()
    }
    assert declared == set(ACTIONS)


@pytest.fixture
def walked(demo_world):
    """The walked objects by model label, a superuser `root` and a staff user without a role."""
    users = get_user_model().objects
    objects = {_label(model): obj for model, obj in demo_world.items()}
    objects["auth.User"] = users.get(username="analyst")
    objects["root"] = users.create_superuser("root", "root@hotline.example", "root-pass-123")
    staff_with_role("norole", None)
    return objects


def _login(client, role: str):
    username = "root" if role == "superuser" else role
    client.force_login(get_user_model().objects.get(username=username))


def _request(client, method: str, path: str, data=None):
    with transaction.atomic():  # a refused or failed request leaves the test's transaction usable
        return client.get(path) if method == "GET" else client.post(path, data or {})


def _expected_status(role: str, allowed: frozenset) -> int:
    return 200 if role in allowed else 403


def _walk_pages(client, role: str, objects: dict) -> list[str]:
    wrong = []
    for label, (view, add, change, delete) in MODELS.items():
        obj = objects[label]
        info = f"admin:{label.replace('.', '_').lower()}"
        checks = [
            ("GET", reverse(f"{info}_changelist"), view),
            ("GET", reverse(f"{info}_add"), add),
            ("GET", reverse(f"{info}_change", args=[obj.pk]), view),
            ("GET", reverse(f"{info}_delete", args=[obj.pk]), delete),
            ("GET", reverse(f"{info}_history", args=[obj.pk]), view),
        ]
        for method, path, allowed in checks:
            status = _request(client, method, path).status_code
            if status != _expected_status(role, allowed):
                wrong.append(f"{method} {path}: {status}, expected {_expected_status(role, allowed)}")
        path = reverse(f"{info}_change", args=[obj.pk])
        status = _request(client, "POST", path).status_code
        if (status in {200, 302}) != (role in change) or status not in {200, 302, 403}:
            wrong.append(f"POST {path}: {status}, expected {'200/302' if role in change else 403}")
    return wrong


def _action_outcome(client, label: str, action: str, obj) -> str:
    info = f"admin:{label.replace('.', '_').lower()}"
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(obj.pk)], "index": "0"}
    client.cookies.pop("messages", None)  # only this request's messages
    response = _request(client, "POST", reverse(f"{info}_changelist"), data)
    if response.status_code == 403:
        return "forbidden"
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    # A page offering no action at all shows the changelist again; one offering others says so.
    changelist = "cl" in (getattr(response, "context_data", None) or {})
    return "not offered" if changelist or NOT_OFFERED in messages else "ran"


def _walk_actions(client, role: str, objects: dict) -> list[str]:
    wrong = []
    for (label, action), allowed in ACTIONS.items():
        can_view = role in MODELS[label][0]
        expected = "ran" if role in allowed else "not offered" if can_view else "forbidden"
        outcome = _action_outcome(client, label, action, objects[label])
        if outcome != expected:
            wrong.append(f"action {label} {action}: {outcome}, expected {expected}")
    return wrong


def _walk_custom(client, role: str, objects: dict) -> list[str]:
    wrong = []
    for name, requests in CUSTOM.items():
        for method, make_path, answers in requests:
            path = make_path(objects)
            expected = next((status for status, roles in answers.items() if role in roles), 403)
            status = _request(client, method, path).status_code
            if status != expected:
                wrong.append(f"{name}: {method} {path}: {status}, expected {expected}")
    return wrong


@pytest.mark.timeout(300)
@pytest.mark.parametrize("role", ROLES)
def test_admin_as_role_allows_and_denies_exactly_the_table(client, walked, role):
    _login(client, role)
    wrong = _walk_pages(client, role, walked) + _walk_actions(client, role, walked)
    wrong += _walk_custom(client, role, walked)  # ends with the sign-out
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", ROLES)
def test_action_not_offered_to_role_changes_nothing(client, walked, role):
    """An action not offered is not run: the invitation stays open unless a supervisor withdraws it."""
    _login(client, role)
    invitation = walked["notices.Invitation"]
    outcome = _action_outcome(client, "notices.Invitation", "revoke", invitation)
    invitation.refresh_from_db()
    assert outcome == ("ran" if role in SUP else "forbidden" if role == "norole" else "not offered")
    assert (invitation.revoked_at is not None) == (role in SUP)
