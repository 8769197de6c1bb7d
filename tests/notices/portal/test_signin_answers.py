"""The portal's sign-in gives no oracle: a name nobody has gets exactly the answers a real one gets (status,
page, Retry-After, and about the same time, since the password hasher runs for both), in every language; the
waiting message is translated."""

from __future__ import annotations

import re
import statistics
import time

import pytest
from django.conf import global_settings
from django.test import Client
from django.utils import timezone, translation

pytestmark = pytest.mark.django_db

PASSWORD = "desk-pass-2026!"
LANGUAGES = ["en", "de", "nl", "fr"]
WAITING = "Too many failed sign-ins. Please try again after %(time)s."


def _client(language: str) -> Client:
    client = Client()
    client.cookies["django_language"] = language
    return client


def _attempt(client: Client, username: str, password: str, ip: str):
    return client.post("/portal/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def _page(response, username: str) -> str:
    """The page without what differs by design: the CSRF token and the name the user typed."""
    body = response.content.decode()
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "csrf", body)
    return body.replace(f'value="{username}"', 'value="NAME"')


def _answers(language: str, username: str, ip: str) -> list[tuple]:
    client = _client(language)
    answers = []
    for password in ("wrong-1", "wrong-2", "wrong-3", PASSWORD):
        response = _attempt(client, username, password, ip)
        answers.append((response.status_code, response.get("Retry-After"), _page(response, username)))
    return answers


@pytest.mark.parametrize("language", LANGUAGES)
def test_unknown_and_known_names_answer_identically(language, desk, settings, monkeypatch):
    settings.SIGNIN_FREE_FAILURES = 2
    settings.SIGNIN_DELAY = 600
    frozen = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: frozen)  # both runs wait until the same second
    known = _answers(language, "polder-desk", "192.0.2.60")
    unknown = _answers(language, "polder-desx", "192.0.2.61")
    assert [status for status, _, _ in known] == [400, 400, 429, 429]  # the right password waits too
    assert known == unknown
    with translation.override(language):
        wrong = translation.gettext("The username or password is not right.")
        waiting = translation.gettext(WAITING).split("%(time)s")[0]
    assert wrong in known[0][2]
    assert waiting in known[2][2]
    if language != "en":
        assert WAITING.split("%(time)s")[0] not in known[2][2]  # translated, not the English text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_code_step_waits_with_the_same_message(language, client, desk, settings):
    import pyotp

    from notices.models import PortalAccount

    PortalAccount.objects.create(user=desk, totp_secret=pyotp.random_base32(), totp_enabled_at=timezone.now())
    settings.SIGNIN_FREE_FAILURES = 1
    client.cookies["django_language"] = language
    assert _attempt(client, "polder-desk", PASSWORD, "127.0.0.1")["Location"] == "/portal/login/verify/"
    assert client.post("/portal/login/verify/", {"code": "000000"}).status_code == 400
    refused = client.post("/portal/login/verify/", {"code": "111111"})
    assert refused.status_code == 429
    with translation.override(language):
        assert translation.gettext(WAITING).split("%(time)s")[0] in refused.content.decode()


def test_unknown_and_known_names_take_about_the_same_time(desk, settings):
    """With the production hasher: a wrong password for a real account and any password for a name nobody
    has both cost one hash (Django's ModelBackend hashes for unknown names); a refusal costs none."""
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    desk.set_password(PASSWORD)
    desk.save(update_fields=["password"])
    client = Client()
    durations: dict[str, list[float]] = {"polder-desk": [], "nobody-here": []}
    for round_ in range(3):
        for i, name in enumerate(durations):
            started = time.perf_counter()
            response = _attempt(client, name, "wrong-password", f"192.0.2.{100 + 2 * round_ + i}")
            durations[name].append(time.perf_counter() - started)
            assert response.status_code == 400
    known, unknown = (statistics.median(durations[name]) for name in durations)
    assert 0.5 < unknown / known < 2, durations
