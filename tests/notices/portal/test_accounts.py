"""Sign-in under the sign-in limits, TOTP two-factor, invitations, password reset, CSRF on every form (the
policy itself: tests/notices/services/test_signin.py)."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from notices.delivery.compose import one_click_token
from notices.models import AuditEvent, Invitation, LoginAttempt, PortalAccount, ProviderMembership

pytestmark = pytest.mark.django_db

PASSWORD = "desk-pass-2026!"


def _login(client, username="polder-desk", password=PASSWORD, **extra):
    return client.post(
        "/portal/login/", {"username": username, "password": password, **extra}, REMOTE_ADDR="192.0.2.50"
    )


def test_login_success_signs_in_and_records_attempt(client, desk):
    response = _login(client, next="/portal/account/")
    assert (response.status_code, response["Location"]) == (302, "/portal/account/")
    assert client.get("/portal/").status_code == 200
    assert list(LoginAttempt.objects.values_list("username", "ip", "client", "outcome")) == [
        ("polder-desk", "192.0.2.50", "192.0.2.50", "succeeded")
    ]


def test_login_refuses_offsite_next(client, desk):
    assert _login(client, next="https://evil.example/")["Location"] == "/portal/"


def test_login_wrong_password_is_generic(client, desk):
    response = _login(client, password="wrong")
    assert response.status_code == 400
    assert "username or password is not right" in response.content.decode()
    assert list(LoginAttempt.objects.values_list("username", "outcome")) == [("polder-desk", "failed")]


def test_login_staff_account_refused(client, analyst):
    response = _login(client, username="analyst", password="analyst-pass-123")
    assert response.status_code == 403
    assert client.get("/portal/").status_code == 302


def test_failures_delay_this_client_even_with_the_right_password(client, desk, settings):
    settings.SIGNIN_FREE_FAILURES = 3
    statuses = [_login(client, password=f"wrong-{i}").status_code for i in range(3)]
    assert statuses == [400, 400, 400]
    right = _login(client)
    assert right.status_code == 429
    assert "Too many failed sign-ins. Please try again after" in right.content.decode()
    assert 1 <= int(right["Retry-After"]) <= settings.SIGNIN_DELAY
    assert client.get("/portal/").status_code == 302
    assert AuditEvent.objects.filter(action="signin.delayed", object_id=str(desk.pk)).count() == 1
    elsewhere = Client().post(
        "/portal/login/", {"username": "polder-desk", "password": PASSWORD}, REMOTE_ADDR="198.51.100.7"
    )
    assert elsewhere.status_code == 302  # the owner from another address is not locked out


def test_the_delay_ends(client, desk, settings):
    settings.SIGNIN_FREE_FAILURES = 1
    _login(client, password="wrong")
    assert _login(client).status_code == 429
    LoginAttempt.objects.update(at=timezone.now() - timedelta(seconds=settings.SIGNIN_DELAY + 1))
    assert _login(client).status_code == 302


def test_failures_per_address_answer_429_for_every_name(client, desk, settings):
    settings.SIGNIN_ADDRESS_LIMIT = 4
    statuses = [_login(client, username=f"nobody-{i}", password="x").status_code for i in range(5)]
    assert statuses == [400, 400, 400, 400, 429]
    assert _login(client).status_code == 429  # even the right password waits
    other_address = client.post(
        "/portal/login/", {"username": "polder-desk", "password": PASSWORD}, REMOTE_ADDR="192.0.2.51"
    )
    assert other_address.status_code == 302


def _enrol(client, user) -> str:
    client.force_login(user)
    client.post("/portal/account/2fa/start/")
    secret = PortalAccount.objects.get(user=user).totp_secret
    page = client.get("/portal/account/").content.decode()
    assert secret in page and "otpauth://totp/" in page and "<svg" in page
    code = pyotp.TOTP(secret).now()
    client.post("/portal/account/2fa/confirm/", {"code": code})
    assert PortalAccount.objects.get(user=user).totp_enabled
    client.logout()
    return secret


def test_totp_login_needs_code_and_refuses_replay(client, desk):
    secret = _enrol(client, desk)
    PortalAccount.objects.filter(user=desk).update(totp_last_step=None)
    step_one = _login(client)
    assert step_one["Location"] == "/portal/login/verify/"
    assert client.get("/portal/").status_code == 302  # not signed in yet
    assert client.post("/portal/login/verify/", {"code": "000000"}).status_code == 400
    code = pyotp.TOTP(secret).now()
    assert client.post("/portal/login/verify/", {"code": code})["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200
    client.logout()
    _login(client)
    assert client.post("/portal/login/verify/", {"code": code}).status_code == 400  # same step: replay


def test_totp_wrong_codes_count_as_failures(client, desk, settings):
    secret = _enrol(client, desk)
    settings.SIGNIN_FREE_FAILURES = 2
    _login(client)
    assert client.post("/portal/login/verify/", {"code": "111111"}).status_code == 400
    assert client.post("/portal/login/verify/", {"code": "222222"}).status_code == 400
    PortalAccount.objects.filter(user=desk).update(totp_last_step=None)
    right = client.post("/portal/login/verify/", {"code": pyotp.TOTP(secret).now()})
    assert right.status_code == 429
    assert client.get("/portal/").status_code == 302
    assert list(LoginAttempt.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "passed",  # the password step of the sign-in that asks for a code
        "failed",
        "failed",
    ]


def test_totp_disable_needs_a_code(client, desk):
    secret = _enrol(client, desk)
    client.force_login(desk)
    client.post("/portal/account/2fa/disable/", {"code": "123"})
    assert PortalAccount.objects.get(user=desk).totp_enabled
    PortalAccount.objects.filter(user=desk).update(totp_last_step=None)
    client.post("/portal/account/2fa/disable/", {"code": pyotp.TOTP(secret).now()})
    assert not PortalAccount.objects.get(user=desk).totp_enabled


def test_invitation_by_portal_admin_sets_password_on_first_visit(desk_client, provider, settings):
    settings.PUBLIC_BASE_URL = "http://portal.test"
    response = desk_client.post("/portal/team/", {"email": "Colleague@Polder.example", "is_admin": ""})
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == ["colleague@polder.example"]
    link = re.search(r"http://portal\.test(/portal/invitation/[^/\s]+/)", message.body)[1]
    invitation = Invitation.objects.get()
    assert link.split("/")[-2] not in invitation.token_hash  # only the hash is stored
    new = Client()
    assert new.get(link).status_code == 200
    short = new.post(link, {"username": "colleague", "password1": "short", "password2": "short"})
    assert short.status_code == 400
    done = new.post(
        link, {"username": "colleague", "password1": "long-enough-pass-1", "password2": "long-enough-pass-1"}
    )
    assert done["Location"] == "/portal/"
    membership = ProviderMembership.objects.get(user__username="colleague")
    assert (membership.provider, membership.is_admin, membership.user.email) == (
        provider,
        False,
        "colleague@polder.example",
    )
    assert Client().get(link).status_code == 404  # used up
    assert Client().login(username="colleague", password="long-enough-pass-1")


def test_invitation_expired_or_revoked_is_refused(desk_client, provider, now):
    from notices.services.portal_accounts import invite_user, revoke_invitation

    sent = invite_user(provider=provider, email="a@polder.example", is_admin=False, invited_by=None, now=now)
    token = sent.link.rstrip("/").rsplit("/", 1)[1]
    Invitation.objects.filter(pk=sent.invitation.pk).update(expires_at=now - timedelta(seconds=1))
    assert Client().get(f"/portal/invitation/{token}/").status_code == 404
    sent2 = invite_user(provider=provider, email="b@polder.example", is_admin=False, invited_by=None, now=now)
    revoke_invitation(invitation=sent2.invitation, now=now)
    assert Client().get(sent2.link.replace("http://127.0.0.1:8000", "")).status_code == 404


def test_invitation_by_supervisor_in_admin(client, django_user_model, provider):
    boss = django_user_model.objects.create_superuser("boss", "boss@hotline.example", "boss-pass-12345")
    client.force_login(boss)
    response = client.post(
        "/admin/notices/invitation/add/",
        {"provider": provider.pk, "email": "first@polder.example", "is_admin": "on"},
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.is_admin, invitation.invited_by) == (
        "first@polder.example",
        True,
        boss,
    )
    assert mail.outbox[0].to == ["first@polder.example"]


def test_password_reset_mails_a_link_and_lets_its_client_sign_in(client, desk, settings):
    settings.SIGNIN_FREE_FAILURES = 1
    _login(client, password="wrong")
    assert _login(client).status_code == 429
    assert client.post("/portal/password-reset/", {"email": "polder-desk@desk.example"}).status_code == 302
    (message,) = mail.outbox
    link = re.search(r"https?://[^/\s]+(/portal/password-reset/[^\s]+/)", message.body)[1]
    form_page = client.get(link, follow=True)
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(
        set_url,
        {"new_password1": "brand-new-pass-9", "new_password2": "brand-new-pass-9"},
        REMOTE_ADDR="192.0.2.50",
    )
    assert done["Location"] == "/portal/password-reset/done/"
    assert _login(Client(), password="brand-new-pass-9").status_code == 302  # same address: 192.0.2.50


# --- CSRF on every form -------------------------------------------------------------------------------------


@pytest.fixture
def csrf_client(desk):
    c = Client(enforce_csrf_checks=True)
    c.force_login(desk)
    return c


def test_every_portal_form_refuses_post_without_csrf_token(csrf_client, sent_notice, provider, now):
    from notices.services.keys import create_api_key
    from notices.services.portal_accounts import invite_user

    key, _ = create_api_key(scope="provider", provider=provider)
    sent = invite_user(provider=provider, email="c@polder.example", is_admin=False, invited_by=None, now=now)
    token = sent.link.rstrip("/").rsplit("/", 1)[1]
    ref = sent_notice.reference
    routes = [
        "/portal/login/",
        "/portal/login/verify/",
        "/portal/logout/",
        "/portal/password-reset/",
        f"/portal/invitation/{token}/",
        "/portal/language/",
        "/portal/account/2fa/start/",
        "/portal/account/2fa/confirm/",
        "/portal/account/2fa/disable/",
        f"/portal/notices/{ref}/",
        *[
            f"/portal/notices/{ref}/respond/{a}/"
            for a in ("acknowledge", "removed", "not_our_customer", "need_info", "refused")
        ],
        f"/portal/one-click/{one_click_token(sent_notice, 'removed')}/",
        "/portal/team/",
        f"/portal/team/invitations/{sent.invitation.pk}/revoke/",
        "/portal/keys/",
        f"/portal/keys/{key.pk}/revoke/",
        "/portal/webhook/",
        "/portal/webhook/disable/",
    ]
    statuses = {route: csrf_client.post(route, {"message": "x", "code": "1"}).status_code for route in routes}
    assert statuses == dict.fromkeys(routes, 403)
    sent_notice.refresh_from_db()
    assert sent_notice.status == "sent"


def test_every_portal_page_with_a_form_renders_a_csrf_token(desk_client, sent_notice):
    for route in (
        "/portal/login/",
        "/portal/password-reset/",
        f"/portal/notices/{sent_notice.reference}/",
        "/portal/account/",
        "/portal/team/",
        "/portal/keys/",
        "/portal/webhook/",
    ):
        body = desk_client.get(route).content.decode()
        assert body.count("<form") == body.count("csrfmiddlewaretoken"), route
