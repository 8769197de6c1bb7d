"""Security headers on every page type, and the production flags (SECURE_COOKIES, TRUST_PROXY_HEADERS).

The pages come from the Django test client against the real database; the production settings are read from
the environment by tracker/settings.py in a child process, as a deployment would set them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "desk-pass-2026!"

POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
HTML_PAGES = [
    "admin login",
    "admin index",
    "admin changelist",
    "admin change form",
    "dashboard",
    "portal login",
    "portal notice list",
    "portal notice",
    "portal account",
    "portal password reset",
    "api docs",
    "home",
    "404 page",
]
# Markup a Content-Security-Policy without 'unsafe-inline' refuses: inline scripts, event handlers, styles.
INLINE = re.compile(
    r"<script(?![^>]*\ssrc=)[^>]*>|\son[a-z]+\s*=|<style[\s>]|\sstyle\s*=", re.IGNORECASE | re.DOTALL
)


def parse_policy(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


@pytest.fixture
def pages(client, django_user_model, analyst, make_case, sent_notice, provider, now):
    """Every page type: name → response, each fetched by the kind of user who sees it."""
    from django.test import Client
    from rest_framework.test import APIClient

    from notices.models import ProviderMembership
    from notices.services.keys import create_api_key

    staff = django_user_model.objects.create_superuser("head-analyst", password=PASSWORD)
    desk = django_user_model.objects.create_user("polder-desk", password=PASSWORD)
    ProviderMembership.objects.create(user=desk, provider=provider, is_admin=True)
    case = make_case("http://files.polder.example/b.html", provider=provider, when=now)
    staff_client, desk_client, api = Client(), Client(), APIClient()
    staff_client.force_login(staff)
    desk_client.force_login(desk)
    _key, plaintext = create_api_key(scope="user", user=analyst)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return {
        "admin login": client.get("/admin/login/"),
        "admin index": staff_client.get("/admin/"),
        "admin changelist": staff_client.get("/admin/notices/url/"),
        "admin change form": staff_client.get(f"/admin/notices/url/{case.pk}/change/"),
        "dashboard": staff_client.get("/admin/dashboard/"),
        "portal login": client.get("/portal/login/"),
        "portal notice list": desk_client.get("/portal/"),
        "portal notice": desk_client.get(f"/portal/notices/{sent_notice.reference}/"),
        "portal account": desk_client.get("/portal/account/"),
        "portal password reset": client.get("/portal/password-reset/"),
        "api docs": client.get("/api/docs/"),
        "api docs script": client.get("/api/docs/?script="),
        "schema": client.get("/api/schema/"),
        "api json": api.get("/api/v1/providers/"),
        "api 404": api.get("/api/v1/no-such-route/"),
        "healthz": client.get("/healthz"),
        "home": client.get("/"),
        "404 page": client.get("/no-such-page/"),
    }


@pytest.mark.django_db
def test_security_headers_on_every_page_type(pages):
    statuses = {name: response.status_code for name, response in pages.items()}
    assert statuses == {
        **dict.fromkeys(pages, 200),
        "healthz": statuses["healthz"],  # 503 while the broker is down: the headers matter here
        "api 404": 404,
        "404 page": 404,
    }
    for name, response in pages.items():
        assert parse_policy(response["Content-Security-Policy"]) == POLICY, name
        assert response["X-Content-Type-Options"] == "nosniff", name
        assert response["Referrer-Policy"] == "same-origin", name
        assert response["X-Frame-Options"] == "DENY", name
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", name
        assert "Strict-Transport-Security" not in response, name  # only with SECURE_COOKIES


@pytest.mark.django_db
def test_security_headers_pages_have_no_inline_script_or_style(pages):
    found = {
        name: INLINE.findall(pages[name].content.decode())
        for name in HTML_PAGES
        if INLINE.search(pages[name].content.decode())
    }
    assert found == {}
    docs = pages["api docs"].content.decode()
    assert '<script src="/api/docs/?script="></script>' in docs  # Swagger UI's start-up script, by URL
    assert pages["api docs script"]["Content-Type"] == "application/javascript"


@pytest.mark.django_db
def test_security_headers_session_cookie_http_only_and_same_site_lax(client, django_user_model):
    django_user_model.objects.create_superuser("head-analyst", password=PASSWORD)
    client.get("/admin/login/")
    response = client.post("/admin/login/", {"username": "head-analyst", "password": PASSWORD})
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    csrf = client.cookies["csrftoken"]
    assert (session["httponly"], session["samesite"], session["secure"]) == (True, "Lax", "")
    assert (csrf["samesite"], csrf["secure"]) == ("Lax", "")


@pytest.mark.django_db
def test_security_headers_template_preview_allows_only_the_mail_styles_by_hash(client, django_user_model):
    import base64
    import hashlib

    from notices.models import NoticeTemplate

    template = NoticeTemplate.objects.create(
        language="en", notice_type="", subject="Notice", body="Dear desk"
    )
    client.force_login(django_user_model.objects.create_superuser("head-analyst", password=PASSWORD))
    response = client.get(f"/admin/notices/noticetemplate/{template.pk}/preview/")

    def digest(style: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() + "'"

    mail_styles = [
        "font-family:sans-serif;line-height:1.5;color:#1f2933;max-width:720px",
        "white-space:pre-wrap",
    ]
    expected_styles = ["'self'", "'unsafe-hashes'", *sorted(digest(style) for style in mail_styles)]
    assert response.status_code == 200
    assert parse_policy(response["Content-Security-Policy"]) == {**POLICY, "style-src": expected_styles}


# --- Production flags, read from the environment by tracker/settings.py in a child process ----------------

_PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client()
out = {}
for name, path, extra in [
    ("http healthz", "/healthz", {}),
    ("http login", "/admin/login/", {}),
    ("https login", "/admin/login/", {"secure": True}),
    ("forwarded login", "/admin/login/", {"headers": {"x-forwarded-proto": "https"}}),
    ("forwarded host", "/admin/login/", {"headers": {"x-forwarded-host": "evil.example"}}),
]:
    response = client.get(path, **extra)
    csrf = response.cookies.get("csrftoken")
    out[name] = {
        "status": response.status_code,
        "location": response.get("Location", ""),
        "hsts": response.get("Strict-Transport-Security", ""),
        "csrf_secure": bool(csrf["secure"]) if csrf else None,
    }
out["session_secure"] = settings.SESSION_COOKIE_SECURE
out["csrf_secure"] = settings.CSRF_COOKIE_SECURE
print(json.dumps(out))
"""


_FLAGS = {"SECURE_COOKIES", "SECURE_HSTS_SECONDS", "TRUST_PROXY_HEADERS", "ALLOWED_HOSTS"}


def probe(**env: str) -> dict:
    inherited = {k: v for k, v in os.environ.items() if k not in _FLAGS}
    environment = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "tracker.settings",
        "ALLOWED_HOSTS": "testserver,evil.example",
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_security_headers_production_flag_off_by_default():
    out = probe()
    assert (out["session_secure"], out["csrf_secure"]) == (False, False)
    assert out["http login"] == {"status": 200, "location": "", "hsts": "", "csrf_secure": False}


def test_security_headers_secure_cookies_turn_on_hsts_secure_cookies_and_redirect():
    out = probe(SECURE_COOKIES="true", SECURE_HSTS_SECONDS="3600")
    assert (out["session_secure"], out["csrf_secure"]) == (True, True)
    assert out["http login"]["status"] == 301
    assert out["http login"]["location"] == "https://testserver/admin/login/"
    assert out["https login"] == {
        "status": 200,
        "location": "",
        "hsts": "max-age=3600; includeSubDomains",
        "csrf_secure": True,
    }
    assert out["http healthz"]["status"] in {200, 503}  # answered over plain http: load balancers probe it
    assert out["http healthz"]["location"] == ""


def test_security_headers_proxy_headers_ignored_unless_trusted():
    untrusted = probe(SECURE_COOKIES="true")
    assert untrusted["forwarded login"]["status"] == 301  # X-Forwarded-Proto from anyone is not believed
    assert untrusted["forwarded host"]["location"] == "https://testserver/admin/login/"

    trusted = probe(SECURE_COOKIES="true", TRUST_PROXY_HEADERS="true")
    assert trusted["forwarded login"]["status"] == 200
    assert trusted["forwarded login"]["hsts"].startswith("max-age=31536000; includeSubDomains")
    assert trusted["forwarded host"]["location"] == "https://evil.example/admin/login/"
