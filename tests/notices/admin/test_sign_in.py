"""Staff sign-in through its real forms (notices/admin/sign_in.py): the password, then enrolment on the first
sign-in or a code (TOTP or recovery code); the sign-in limits' refusals; re-authentication before changes of
users, groups and API keys; a supervisor's reset of a lost factor; idle and absolute session timeouts.

`force_login` counts as a complete sign-in in this suite (tests/conftest.py); here every session that matters
is signed in through the forms, except the supervisor's where only the reset is under test.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from django.test import Client

from notices.admin.staff_session import MARK
from notices.models import ApiKey, AuditEvent, PortalAccount, RecoveryCode
from notices.services import signin

pytestmark = pytest.mark.django_db

PASSWORD = "analyst-pass-123"  # the root conftest's `analyst`
IP = "192.0.2.10"
CODES = re.compile(r"<li><code>([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})</code></li>")


def _password(client, username="analyst", password=PASSWORD, next_url=""):
    query = f"?next={next_url}" if next_url else ""
    return client.post(f"/admin/login/{query}", {"username": username, "password": password}, REMOTE_ADDR=IP)


def _code(client, code, step="code"):
    return client.post(f"/admin/login/{step}/", {"code": code}, REMOTE_ADDR=IP)


def _secret(username="analyst") -> str:
    return PortalAccount.objects.get(user__username=username).totp_secret


def _next_step_code(secret: str) -> str:
    """The code of the next 30 s step: the current one was used already (a step is never accepted twice)."""
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30))


def enrol(client, username="analyst", password=PASSWORD) -> tuple[str, list[str]]:
    """The first sign-in, through the forms: password, enrolment with the app's code; the codes shown once."""
    assert _password(client, username, password)["Location"] == "/admin/login/enrol/"
    secret = _secret(username)
    response = _code(client, pyotp.TOTP(secret).now(), step="enrol")
    assert response.status_code == 200
    return secret, CODES.findall(response.content.decode())


def _age(client, **seconds) -> None:
    """Move the session's sign-in times into the past, as if that much time had gone by."""
    session = client.session
    session[MARK] = {**session[MARK], **{k: session[MARK][k] - v for k, v in seconds.items()}}
    session.save()


# --- Enrolment and sign-in ----------------------------------------------------------------------------------


def test_sign_in_first_time_enrols_before_any_staff_page(client, analyst):
    first = _password(client)
    assert (first.status_code, first["Location"]) == (302, "/admin/login/enrol/")
    assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"  # nothing before the enrolment
    assert client.get("/admin/login/code/")["Location"] == "/admin/login/enrol/"
    page = client.get("/admin/login/enrol/").content.decode()
    secret = _secret()
    assert secret in page and "otpauth://totp/Takedown%20tracker:analyst?secret=" in page and "<svg" in page
    assert not PortalAccount.objects.get(user=analyst).totp_enabled
    wrong = _code(client, "000000", step="enrol")
    assert wrong.status_code == 400 and "not valid" in wrong.content.decode()
    done = _code(client, pyotp.TOTP(secret).now(), step="enrol")
    page = done.content.decode()
    codes = CODES.findall(page)
    assert done.status_code == 200 and len(set(codes)) == 10 and "not shown again" in page
    assert RecoveryCode.objects.filter(user=analyst, used_at=None).count() == 10
    assert client.get("/admin/").status_code == 200
    assert not any(code in client.get("/admin/second-factor/").content.decode() for code in codes)
    assert AuditEvent.objects.filter(action="staff.2fa_enrolled", actor="user:analyst").count() == 1


def test_sign_in_with_totp_code_goes_where_the_user_was_going(client, analyst):
    secret, _codes = enrol(client)
    client.post("/admin/logout/")
    first = _password(client, next_url="/admin/dashboard/")
    assert first["Location"] == "/admin/login/code/"
    assert client.get("/admin/dashboard/").status_code == 302  # password alone shows nothing
    assert (
        "Password accepted for <strong>analyst</strong>" in client.get("/admin/login/code/").content.decode()
    )
    assert _code(client, "123456").status_code == 400
    code = _next_step_code(secret)
    second = _code(client, code)
    assert (second.status_code, second["Location"]) == (302, "/admin/dashboard/")
    assert client.get("/admin/dashboard/").status_code == 200
    client.post("/admin/logout/")
    _password(client)
    assert _code(client, code).status_code == 400  # the same step again: replay


def test_sign_in_with_a_recovery_code_uses_it_up_and_is_audited(client, analyst):
    _secret, codes = enrol(client)
    client.post("/admin/logout/")
    _password(client)
    assert _code(client, codes[0].upper())["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    used = AuditEvent.objects.get(action="staff.recovery_code_used")
    assert (used.actor, used.ip, used.data) == ("user:analyst", IP, {"left": 9})
    client.post("/admin/logout/")
    _password(client)
    assert _code(client, codes[0]).status_code == 400
    assert _code(client, codes[1])["Location"] == "/admin/"
    assert ">8</strong> of 10" in client.get("/admin/second-factor/").content.decode()


def test_sign_in_refuses_offsite_next(client, analyst):
    secret, _codes = enrol(client)
    client.post("/admin/logout/")
    _password(client, next_url="https://evil.example/")
    assert _code(client, _next_step_code(secret))["Location"] == "/admin/"


def test_sign_in_steps_of_a_signed_in_session_lead_to_the_admin(client, analyst):
    secret, _codes = enrol(client)
    assert client.get("/admin/login/")["Location"] == "/admin/"
    assert client.get("/admin/login/?next=/admin/login/")["Location"] == "/admin/"  # never back to itself
    assert _code(client, _next_step_code(secret))["Location"] == "/admin/"
    assert _code(client, pyotp.TOTP(secret).now(), step="enrol")["Location"] == "/admin/"  # a reload


def test_sign_in_from_a_portal_session_as_someone_else(client, analyst, desk_user):
    secret, _codes = enrol(Client())
    assert (
        client.post("/portal/login/", {"username": "polder-desk", "password": "desk-pass-2026!"}).status_code
        == 302
    )
    assert client.get("/admin/").status_code == 302
    _password(client)
    assert _code(client, _next_step_code(secret))["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get("/portal/").status_code == 403  # one user per session: the desk is signed out


def test_sign_in_unknown_name_answers_as_a_wrong_password(client, analyst, provider, desk_user):
    answers = {
        "unknown name": _password(client, username="nobody"),
        "wrong password": _password(client, password="wrong-password"),
        "provider user": _password(client, username="polder-desk", password="desk-pass-2026!"),
    }
    errors = {
        name: re.findall(r'<p class="errornote">\s*(.*?)\s*</p>', r.content.decode(), re.S)
        for name, r in answers.items()
    }
    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 400)
    assert set(errors) == set(answers)
    assert set(map(tuple, errors.values())) == {
        ("The username or password is not right. Both are case-sensitive.",)
    }
    assert client.get("/admin/").status_code == 302


@pytest.fixture
def desk_user(provider, django_user_model):
    from notices.models import ProviderMembership

    user = django_user_model.objects.create_user("polder-desk", password="desk-pass-2026!")
    ProviderMembership.objects.create(user=user, provider=provider, is_admin=True)
    return user


def _until_refused(attempt, *, username: str, limit: int = 60):
    """Fail with `attempt()` until the sign-in limits refuse; returns the refusal."""
    for _ in range(limit):
        refusal = signin.refusal(username=username, ip=IP, now=datetime.now(UTC))
        if refusal:
            return refusal
        attempt()
    raise AssertionError(f"no refusal after {limit} failed attempts")


def test_sign_in_password_step_answers_with_the_refusal(client, analyst):
    refusal = _until_refused(lambda: _password(client, password="wrong-password"), username="analyst")
    right = _password(client)
    assert right.status_code == refusal.status
    assert "Too many failed sign-ins" in right.content.decode()
    assert client.get("/admin/").status_code == 302


def test_sign_in_code_step_failures_count_and_answer_with_the_refusal(client, analyst):
    secret, _codes = enrol(client)
    client.post("/admin/logout/")
    _password(client)
    refusal = _until_refused(lambda: _code(client, "000000"), username="analyst")
    right = _code(client, _next_step_code(secret))
    assert right.status_code == refusal.status
    assert client.get("/admin/").status_code == 302


def test_sign_in_code_step_expires(client, analyst):
    secret, _codes = enrol(client)
    client.post("/admin/logout/")
    _password(client)
    session = client.session
    session["staff_sign_in_pending"] = {**session["staff_sign_in_pending"], "at": 0}
    session.save()
    response = _code(client, _next_step_code(secret))
    assert response["Location"] == "/admin/login/"
    assert client.get("/admin/").status_code == 302


def test_sign_in_success_is_recorded_with_the_limits(client, analyst):
    from notices.enums import SignInOutcome
    from notices.models import LoginAttempt

    enrol(client)
    # The password step ends its attempt as a first factor (no count either way); the code step succeeds.
    outcomes = list(
        LoginAttempt.objects.filter(username="analyst", ip=IP)
        .order_by("id")
        .values_list("outcome", flat=True)
    )
    assert outcomes == [SignInOutcome.PASSED, SignInOutcome.SUCCEEDED]


# --- Re-authentication -------------------------------------------------------------------------------------


@pytest.fixture
def signed_in(client, analyst):
    """The analyst with every user, group and key permission, signed in through the forms."""
    from django.contrib.auth.models import Permission

    analyst.user_permissions.set(Permission.objects.filter(content_type__app_label__in=["auth", "notices"]))
    secret, codes = enrol(client)
    client.secret, client.codes = secret, codes
    return client


def _reauth_targets(analyst, django_user_model):
    from django.contrib.auth.models import Group

    other = django_user_model.objects.create_user("other", password="other-pass-123", is_staff=True)
    group = Group.objects.create(name="Night shift")
    key = ApiKey.objects.create(prefix="tt_test", key_hash="0" * 64, scope="user", user=analyst)
    return [
        ("GET", "/admin/auth/user/add/", {}),
        ("GET", f"/admin/auth/user/{other.pk}/change/", {}),
        ("POST", f"/admin/auth/user/{other.pk}/change/", {"username": "renamed"}),
        ("GET", f"/admin/auth/user/{other.pk}/password/", {}),
        ("GET", f"/admin/auth/user/{other.pk}/delete/", {}),
        ("POST", "/admin/auth/user/", {"action": "delete_selected", "_selected_action": [other.pk]}),
        ("GET", f"/admin/auth/user/{other.pk}/second-factor/reset/", {}),
        ("GET", "/admin/auth/group/add/", {}),
        ("GET", f"/admin/auth/group/{group.pk}/change/", {}),
        ("GET", f"/admin/auth/group/{group.pk}/delete/", {}),
        ("GET", f"/admin/notices/apikey/{key.pk}/change/", {}),
        ("POST", "/admin/notices/apikey/", {"action": "revoke", "_selected_action": [key.pk]}),
    ]


def test_reauth_asked_before_every_change_of_users_groups_and_keys(signed_in, analyst, django_user_model):
    targets = _reauth_targets(analyst, django_user_model)
    _age(signed_in, proved=301)
    stale = {f"{m} {url}": _send(signed_in, m, url, data) for m, url, data in targets}
    assert {k: r.get("Location", "").split("?")[0] for k, r in stale.items()} == dict.fromkeys(
        stale, "/admin/reauth/"
    )
    assert ApiKey.objects.get().revoked_at is None
    assert django_user_model.objects.filter(username="other").exists()
    assert signed_in.get("/admin/auth/user/").status_code == 200  # reading the list needs nothing more
    signed_in.post("/admin/reauth/", {"password": PASSWORD, "code": _next_step_code(signed_in.secret)})
    fresh = {f"{m} {url}": _send(signed_in, m, url, data) for m, url, data in targets}
    assert {k: r.status_code for k, r in fresh.items()} == {
        **dict.fromkeys(fresh, 200),
        "POST /admin/notices/apikey/": 302,
    }
    assert ApiKey.objects.get().revoked_at is not None


def _send(client, method, url, data):
    return client.get(url, data) if method == "GET" else client.post(url, data)


def test_reauth_page_returns_to_where_the_user_was(signed_in, analyst, django_user_model):
    other = django_user_model.objects.create_user("other", password="other-pass-123", is_staff=True)
    _age(signed_in, proved=3600)
    page = f"/admin/auth/user/{other.pk}/change/"
    sent = signed_in.get(page)
    assert sent["Location"] == f"/admin/reauth/?next=%2Fadmin%2Fauth%2Fuser%2F{other.pk}%2Fchange%2F"
    form = signed_in.get(sent["Location"])
    assert form.status_code == 200 and "Confirm it is you" in form.content.decode()
    wrong_password = signed_in.post(sent["Location"], {"password": "nope", "code": signed_in.codes[0]})
    assert wrong_password.status_code == 400
    assert RecoveryCode.objects.filter(user=analyst, used_at=None).count() == 10  # not used up by a failure
    wrong_code = signed_in.post(sent["Location"], {"password": PASSWORD, "code": "000000"})
    assert wrong_code.status_code == 400
    back = signed_in.post(sent["Location"], {"password": PASSWORD, "code": _next_step_code(signed_in.secret)})
    assert back["Location"] == page
    assert signed_in.get(page).status_code == 200


def test_reauth_not_asked_of_someone_who_may_only_view(client, analyst, django_user_model):
    from django.contrib.auth.models import Permission

    other = django_user_model.objects.create_user("other", password="other-pass-123", is_staff=True)
    analyst.user_permissions.set([Permission.objects.get(codename="view_user")])
    enrol(client)
    _age(client, proved=3600)
    assert client.get(f"/admin/auth/user/{other.pk}/change/").status_code == 200


def test_reauth_failures_count_with_the_sign_in_limits(signed_in):
    _age(signed_in, proved=3600)
    refusal = _until_refused(
        lambda: signed_in.post("/admin/reauth/", {"password": "nope", "code": "000000"}), username="analyst"
    )
    answer = signed_in.post(
        "/admin/reauth/", {"password": PASSWORD, "code": _next_step_code(signed_in.secret)}
    )
    assert answer.status_code == refusal.status


def test_recovery_codes_renewed_after_reauth_only(signed_in, analyst):
    _age(signed_in, proved=3600)
    assert signed_in.post("/admin/second-factor/")["Location"].startswith("/admin/reauth/")
    signed_in.post("/admin/reauth/", {"password": PASSWORD, "code": _next_step_code(signed_in.secret)})
    renewed = signed_in.post("/admin/second-factor/")
    new = CODES.findall(renewed.content.decode())
    assert len(new) == 10 and not set(new) & set(signed_in.codes)
    assert AuditEvent.objects.filter(action="staff.recovery_codes_renewed").count() == 1
    signed_in.post("/admin/logout/")
    _password(signed_in)
    assert _code(signed_in, signed_in.codes[1]).status_code == 400  # an old code
    assert _code(signed_in, new[0])["Location"] == "/admin/"


# --- A supervisor resets a lost factor ----------------------------------------------------------------------


@pytest.fixture
def supervisor(django_user_model):
    boss = django_user_model.objects.create_superuser("boss", password="boss-pass-1234")
    c = Client()
    c.force_login(boss)
    c.user = boss
    return c


def test_reset_by_supervisor_ends_sessions_and_asks_for_a_new_enrolment(client, analyst, supervisor):
    enrol(client)
    page = supervisor.get(f"/admin/auth/user/{analyst.pk}/change/").content.decode()
    assert "Reset second factor" in page and "10 recovery codes unused" in page
    url = f"/admin/auth/user/{analyst.pk}/second-factor/reset/"
    assert "their open sessions end" in supervisor.get(url).content.decode()
    assert supervisor.post(url)["Location"] == f"/admin/auth/user/{analyst.pk}/change/"
    assert not RecoveryCode.objects.filter(user=analyst).exists()
    row = AuditEvent.objects.get(action="staff.2fa_reset")
    assert (row.actor, row.object_type, row.object_id) == ("user:boss", "user", str(analyst.pk))
    ended = client.get("/admin/")
    assert ended["Location"] == "/admin/login/?next=/admin/"
    assert "Your second factor was reset" in client.get(ended["Location"]).content.decode()
    assert _password(client)["Location"] == "/admin/login/enrol/"


def test_reset_needs_the_change_user_permission(client, analyst, django_user_model):
    from django.contrib.auth.models import Permission

    enrol(client)
    clerk = django_user_model.objects.create_user("clerk", password="clerk-pass-123", is_staff=True)
    clerk.user_permissions.set([Permission.objects.get(codename="view_user")])
    viewer = Client()
    viewer.force_login(clerk)
    url = f"/admin/auth/user/{analyst.pk}/second-factor/reset/"
    assert "Reset second factor" not in viewer.get(f"/admin/auth/user/{analyst.pk}/change/").content.decode()
    assert viewer.post(url).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="change_user"))
    assert viewer.post(url).status_code == 302
    assert not PortalAccount.objects.get(user=analyst).totp_enabled


def test_reset_of_own_factor_refused(supervisor):
    url = f"/admin/auth/user/{supervisor.user.pk}/second-factor/reset/"
    response = supervisor.post(url, follow=True)
    assert "You cannot reset your own second factor" in response.content.decode()
    assert PortalAccount.objects.get(user=supervisor.user).totp_enabled


def test_reset_action_on_the_user_list(client, analyst, supervisor, django_user_model):
    enrol(client)
    never = django_user_model.objects.create_user("never", password="never-pass-123", is_staff=True)
    response = supervisor.post(
        "/admin/auth/user/",
        {"action": "reset_second_factor", "_selected_action": [analyst.pk, never.pk]},
        follow=True,
    )
    assert "The second factor of analyst is reset" in response.content.decode()
    assert list(AuditEvent.objects.filter(action="staff.2fa_reset").values_list("object_id", flat=True)) == [
        str(analyst.pk)
    ]


# --- Session timeouts ---------------------------------------------------------------------------------------


def test_session_idle_timeout_signs_out(client, analyst, settings):
    settings.STAFF_SESSION_IDLE_TIMEOUT = 600
    enrol(client)
    _age(client, seen=599)
    assert client.get("/admin/").status_code == 200  # activity: the idle clock starts again
    _age(client, seen=601)
    ended = client.get("/admin/notices/url/")
    assert ended["Location"] == "/admin/login/?next=/admin/notices/url/"
    assert "signed out after a time without activity" in client.get(ended["Location"]).content.decode()
    assert client.get("/admin/").status_code == 302  # the session is over, not only this request


def test_session_absolute_maximum_signs_out_however_busy(client, analyst, settings):
    settings.STAFF_SESSION_MAX_AGE = 3600
    enrol(client)
    _age(client, at=3599)
    assert client.get("/admin/").status_code == 200
    _age(client, at=2)
    assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"
    assert "maximum length" in client.get("/admin/login/").content.decode()
