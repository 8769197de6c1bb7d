"""No secret reaches a log: a real gunicorn started as the supervisor starts it
(tracker.supervisor.web_command: access log on stdout, Django's warnings on stderr) and a real Celery worker,
given one-click and invitation tokens, a password-reset token, a wrong API key and a session cookie; then
their whole output is searched."""

from __future__ import annotations

import http.client
import time
from pathlib import Path

import pytest
from celery import current_app
from django.test import Client

from notices.delivery.compose import one_click_token

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

WRONG_SECRET = "Zm9yZ2V0LW1lLW5vdC1zZWNyZXQtdmFsdWUtMDEyMzQ1Njc4OQ"
WRONG_KEY = f"tt_0a1b2c3d_{WRONG_SECRET}"
INVITATION = "inv-Q3JlYXRlIGFuIGFjY291bnQgd2l0aCBtZQ"
RESET = "cm0x3a-7d1f0c9e8b6a5d4c3b2a1f0e9d8c"
# The access-log format of an operator who also logs the request's credentials headers.
HEADERS_FORMAT = '%(h)s "%(r)s" %(s)s "%(f)s" "%(a)s" auth="%({authorization}i)s" cookie="%({cookie}i)s"'


def _get(port: int, path: str, headers: dict, method: str = "GET") -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_gunicorn_access_and_error_logs_carry_no_secret(start_web, sent_notice, analyst):
    web = start_web("--access-logformat", HEADERS_FORMAT)
    token = one_click_token(sent_notice, "removed")
    browser = Client()
    browser.force_login(analyst)
    session = browser.cookies["sessionid"].value
    cookie = {"Cookie": f"sessionid={session}; csrftoken=c5rfT0kenValue0123456789abcdefgh"}
    bearer = {"Authorization": f"Bearer {WRONG_KEY}"}
    statuses = [
        _get(web.port, f"/portal/one-click/{token}/", cookie),
        _get(web.port, f"/portal/one-click/{token}x/", {}),  # tampered: 404, a Django warning
        _get(web.port, "/portal/", {**cookie, "Referer": f"http://127.0.0.1/portal/one-click/{token}/"}),
        _get(web.port, "/api/v1/reports/", bearer, "POST"),
        _get(web.port, f"/portal/invitation/{INVITATION}/", {}),
        _get(web.port, f"/portal/password-reset/MQ/{RESET}/", {}),
        _get(web.port, f"/portal/login/?next=%2Fportal%2Fone-click%2F{token.replace(':', '%3A')}%2F", {}),
    ]
    assert statuses == [200, 404, 403, 401, 404, 200, 200]
    from tracker.processes import stop_groups

    stop_groups([web], grace=15)  # gunicorn flushes its logs
    log = web.log_path.read_text()
    for secret in (token, token.replace(":", "%3A"), session, WRONG_SECRET, INVITATION, RESET, "c5rfT0ken"):
        assert secret not in log
    for redacted in (
        '"GET /portal/one-click/[redacted]/ HTTP/1.1" 200',  # access log
        "Not Found: /portal/one-click/[redacted]/",  # Django's warning on stderr
        '"http://127.0.0.1/portal/one-click/[redacted]/"',  # the Referer
        'auth="Bearer [redacted]"',
        'cookie="sessionid=[redacted]; csrftoken=[redacted]"',
        "Unauthorized: /api/v1/reports/",
        "Not Found: /portal/invitation/[redacted]/",
        "/portal/password-reset/MQ/[redacted]/",
        "next=%2Fportal%2Fone-click%2F[redacted]%2F",
    ):
        assert redacted in log, redacted


def test_celery_worker_logs_carry_no_secret(start_worker, sent_notice):
    """A task the worker does not know (a rename during a deploy) is logged with its whole message body."""
    worker = start_worker()
    token = one_click_token(sent_notice, "removed")
    current_app.send_task("notices.no_such_task", args=[f"/portal/one-click/{token}/", f"Bearer {WRONG_KEY}"])
    path = Path(worker.log_file.name)
    deadline = time.monotonic() + 30
    while "The full contents of the message body" not in path.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    log = path.read_text()
    assert "Received unregistered task of type 'notices.no_such_task'" in log
    assert token not in log and WRONG_SECRET not in log
    assert "/portal/one-click/[redacted]/" in log and "Bearer [redacted]" in log
