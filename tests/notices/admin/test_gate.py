"""The staff gate (notices/admin/gate.py) on every kind of staff URL: a session that has not passed both
sign-in steps, or whose sign-in timed out, sees none of them; a fully signed-in one sees them all."""

from __future__ import annotations

import pyotp
import pytest
from django.test import Client

from notices.admin.staff_session import MARK
from notices.models import NoticeTemplate, PortalAccount, ProviderMembership

pytestmark = pytest.mark.django_db

PASSWORD = "head-pass-2026!"


@pytest.fixture
def head(django_user_model, provider):
    """A superuser who is also a provider's portal user (so the portal's sign-in can sign them in too)."""
    user = django_user_model.objects.create_superuser("head", password=PASSWORD)
    ProviderMembership.objects.create(user=user, provider=provider)
    return user


@pytest.fixture
def staff_urls(head, make_case, provider, now):
    """One URL of every kind under the admin, each with the status a fully signed-in superuser gets."""
    from django.contrib.contenttypes.models import ContentType

    case = make_case("http://files.polder.example/a.html", provider=provider, when=now)
    template = NoticeTemplate.objects.create(language="en", notice_type="", subject="S", body="B")
    url_type = ContentType.objects.get_for_model(case).pk
    return {
        "/admin/": 200,  # site index
        "/admin/notices/": 200,  # app index
        "/admin/notices/url/": 200,  # change list
        "/admin/notices/url/?q=polder&o=2": 200,  # change list with search and ordering
        "/admin/notices/noticetemplate/add/": 200,  # add form
        f"/admin/notices/url/{case.pk}/change/": 200,  # change form
        f"/admin/notices/noticetemplate/{template.pk}/delete/": 200,  # delete confirmation
        f"/admin/notices/url/{case.pk}/history/": 200,  # history
        f"/admin/notices/url/{case.pk}/assess/": 200,  # a project view in a model admin
        f"/admin/notices/noticetemplate/{template.pk}/preview/": 200,
        f"/admin/auth/user/{head.pk}/change/": 200,  # Django's user pages
        f"/admin/auth/user/{head.pk}/password/": 200,
        f"/admin/auth/user/{head.pk}/second-factor/reset/": 200,
        "/admin/password_change/": 200,  # the admin site's own views
        "/admin/jsi18n/": 200,
        "/admin/autocomplete/?app_label=notices&model_name=url&field_name=url&term=x": 403,
        f"/admin/r/{url_type}/{case.pk}/": 404,  # "view on site": Url has no public page
        "/admin/no-such-page/": 404,  # the admin's catch-all
        "/admin/dashboard/": 200,  # the dashboard, a view outside the admin site
        "/admin/reauth/": 200,  # sign-in pages for signed-in staff
        "/admin/second-factor/": 200,
    }


def _visit(client, urls) -> dict[str, tuple[int, str]]:
    out = {}
    for url in urls:
        response = client.get(url)
        out[url] = (response.status_code, response.get("Location", "").split("?")[0])
    return out


def _shut(urls) -> dict[str, tuple[int, str]]:
    return dict.fromkeys(urls, (302, "/admin/login/"))


def _signed_in(head) -> Client:
    """Both steps through the forms (the head has a factor already)."""
    client = Client()
    secret = pyotp.random_base32()
    PortalAccount.objects.update_or_create(
        user=head,
        defaults={"totp_secret": secret, "totp_enabled_at": "2026-01-01T00:00:00Z", "totp_last_step": None},
    )
    client.post("/admin/login/", {"username": "head", "password": PASSWORD})
    assert client.post("/admin/login/code/", {"code": pyotp.TOTP(secret).now()})["Location"] == "/admin/"
    return client


def test_gate_fully_signed_in_session_sees_every_staff_url(head, staff_urls):
    seen = _visit(_signed_in(head), staff_urls)
    assert {url: status for url, (status, _) in seen.items()} == staff_urls


def test_gate_anonymous_and_password_only_sessions_see_nothing(head, staff_urls):
    assert _visit(Client(), staff_urls) == _shut(staff_urls)
    halfway = Client()
    PortalAccount.objects.update_or_create(
        user=head, defaults={"totp_secret": pyotp.random_base32(), "totp_enabled_at": "2026-01-01T00:00:00Z"}
    )
    assert halfway.post("/admin/login/", {"username": "head", "password": PASSWORD})["Location"] == (
        "/admin/login/code/"
    )
    assert _visit(halfway, staff_urls) == _shut(staff_urls)
    enrolling = Client()
    PortalAccount.objects.filter(user=head).update(totp_enabled_at=None)
    assert enrolling.post("/admin/login/", {"username": "head", "password": PASSWORD})["Location"] == (
        "/admin/login/enrol/"
    )
    assert _visit(enrolling, staff_urls) == _shut(staff_urls)


def test_gate_staff_signed_in_by_another_page_sees_nothing(head, staff_urls):
    """The portal's sign-in (no staff second factor) signs the user in for the portal, not for the admin."""
    portal = Client()
    assert portal.post("/portal/login/", {"username": "head", "password": PASSWORD}).status_code == 302
    assert portal.get("/portal/").status_code == 200
    assert _visit(portal, staff_urls) == _shut(staff_urls)
    assert portal.get("/portal/").status_code == 200  # still signed in there
    login_page = portal.get("/admin/login/").content.decode()
    assert 'id="login-form"' in login_page and "You are authenticated as" not in login_page


def test_gate_session_without_mark_or_with_another_users_mark_sees_nothing(
    head, staff_urls, django_user_model
):
    unmarked = Client()
    unmarked.force_login(head)
    session = unmarked.session
    del session[MARK]
    session.save()
    assert _visit(unmarked, staff_urls) == _shut(staff_urls)
    other = django_user_model.objects.create_superuser("other", password=PASSWORD)
    borrowed = Client()
    borrowed.force_login(head)
    session = borrowed.session
    session[MARK] = {**session[MARK], "user": other.pk}
    session.save()
    assert _visit(borrowed, staff_urls) == _shut(staff_urls)


def test_gate_idle_session_is_signed_out_on_every_staff_url(head, staff_urls, settings):
    settings.STAFF_SESSION_IDLE_TIMEOUT = 60
    for url in staff_urls:
        client = _signed_in(head)
        session = client.session
        session[MARK] = {**session[MARK], "seen": session[MARK]["seen"] - 61}
        session.save()
        assert _visit(client, [url, "/admin/"]) == _shut([url, "/admin/"]), url


def test_gate_posts_are_shut_too(head, staff_urls):
    from notices.models import Url

    client = Client()
    client.force_login(head)
    session = client.session
    del session[MARK]
    session.save()
    case = Url.objects.get()
    response = client.post(f"/admin/notices/url/{case.pk}/change/", {"notes": "changed"})
    assert (response.status_code, response["Location"].split("?")[0]) == (302, "/admin/login/")
    response = client.post(
        "/admin/notices/url/", {"action": "create_hotline_notices", "_selected_action": [case.pk]}
    )
    assert (response.status_code, response["Location"].split("?")[0]) == (302, "/admin/login/")


def test_gate_leaves_other_pages_alone(head, client):
    """The portal, the API docs, the front page: not staff URLs (a staff session is not needed or asked)."""
    assert client.get("/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/portal/login/").status_code == 200
