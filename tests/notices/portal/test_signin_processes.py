"""The sign-in limits across two real web processes (gunicorn, as `make run` starts it) on one database:
failures on one count on the other, parallel attempts are counted before their passwords are checked, and the
owner from another address still signs in. Client addresses come from X-Forwarded-For
(TRUST_PROXY_HEADERS), as behind the reverse proxy of a deployment."""

from __future__ import annotations

import http.client
import re
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from django.conf import global_settings

from notices.models import LoginAttempt

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

PASSWORD = "desk-pass-2026!"
ATTACKER, OWNER = "192.0.2.10", "198.51.100.20"
ENV = {"TRUST_PROXY_HEADERS": "true", "SIGNIN_FREE_FAILURES": "2", "SIGNIN_DELAY": "120"}


class Browser:
    """One client of one web process: its cookies, the sign-in form's CSRF token, its address."""

    def __init__(self, port: int, address: str):
        self.port, self.address, self.cookies = port, address, SimpleCookie()

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, dict, str]:
        headers = {"X-Forwarded-For": self.address, "Host": "127.0.0.1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())
        body = urlencode(form) if form is not None else None
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    self.cookies.load(value)
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
        finally:
            connection.close()

    def open_form(self) -> str:
        status, _, page = self.request("GET", "/portal/login/")
        assert status == 200
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]

    def sign_in(self, password: str, *, token: str | None = None) -> tuple[int, dict, str]:
        form = {
            "csrfmiddlewaretoken": token or self.open_form(),
            "username": "polder-desk",
            "password": password,
        }
        return self.request("POST", "/portal/login/", form)


@pytest.fixture
def real_password(desk, settings):
    """The web processes hash with the production hashers, not the tests' fast one."""
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    desk.set_password(PASSWORD)
    desk.save(update_fields=["password"])
    return desk


def test_failures_on_one_web_process_count_on_the_other(start_web, real_password):
    one, two = start_web(**ENV), start_web(**ENV)
    on_one, on_two = Browser(one.port, ATTACKER), Browser(two.port, ATTACKER)
    assert on_one.sign_in("wrong-1")[0] == 400
    assert on_two.sign_in("wrong-2")[0] == 400
    for browser in (on_one, on_two):  # one failure on each: both processes hold this client back now
        status, headers, page = browser.sign_in(PASSWORD)
        assert status == 429, page
        assert "Too many failed sign-ins. Please try again after" in page
        assert 1 <= int(headers["retry-after"]) <= 120
    status, headers, _ = Browser(two.port, OWNER).sign_in(PASSWORD)
    assert (status, headers["location"]) == (302, "/portal/")  # the owner elsewhere is not locked out
    assert sorted(LoginAttempt.objects.values_list("client", "outcome")) == [
        (ATTACKER, "failed"),
        (ATTACKER, "failed"),
        (OWNER, "succeeded"),
    ]


def test_parallel_attempts_on_both_processes_get_only_the_free_failures(start_web, real_password):
    one, two = start_web(**ENV), start_web(**ENV)
    browsers = [Browser(port, ATTACKER) for port in (one.port, two.port) * 4]
    tokens = [browser.open_form() for browser in browsers]
    with ThreadPoolExecutor(len(browsers)) as pool:
        answers = list(
            pool.map(lambda browser, token: browser.sign_in("wrong", token=token), browsers, tokens)
        )
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [400, 400, 429, 429, 429, 429, 429, 429]  # two passwords checked, not eight
    assert LoginAttempt.objects.filter(outcome="failed").count() == 2


class StaffBrowser(Browser):
    """The same client at the staff admin's sign-in (`/admin/login/`), which applies the same limits."""

    def open_form(self) -> str:
        status, _, page = self.request("GET", "/admin/login/")
        assert status == 200
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]

    def sign_in(self, password: str, *, token: str | None = None) -> tuple[int, dict, str]:
        form = {"csrfmiddlewaretoken": token or self.open_form(), "username": "analyst", "password": password}
        return self.request("POST", "/admin/login/", form)


def test_staff_sign_in_failures_on_one_web_process_count_on_the_other(start_web, analyst, settings):
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    analyst.set_password(PASSWORD)
    analyst.save(update_fields=["password"])
    one, two = start_web(**ENV), start_web(**ENV)
    on_one, on_two = StaffBrowser(one.port, ATTACKER), StaffBrowser(two.port, ATTACKER)
    assert on_one.sign_in("wrong-1")[0] == 400
    assert on_two.sign_in("wrong-2")[0] == 400
    for browser in (on_one, on_two):  # the right password too: this client waits, on both processes
        status, _, page = browser.sign_in(PASSWORD)
        assert status == 429, page
        assert "Too many failed sign-ins" in page
    status, headers, page = StaffBrowser(two.port, OWNER).sign_in(PASSWORD)
    # The owner elsewhere goes on (to enrol the second factor).
    assert (status, headers.get("location")) == (302, "/admin/login/enrol/"), page[-3000:]
    assert sorted(LoginAttempt.objects.values_list("client", "outcome")) == [
        (ATTACKER, "failed"),
        (ATTACKER, "failed"),
        (OWNER, "passed"),
    ]
