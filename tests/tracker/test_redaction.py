"""The redaction patterns and the logging filter (tracker/redaction.py), one line at a time."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from tracker.redaction import RedactingFilter, redact, redact_handlers

TOKEN = "eyJuIjoiVE4tMjAyNi0wMDAwMDEiLCJhIjoicmVtb3ZlZCJ9:1vQx2b:Hq3y-Zk_8sPq0aL1"
KEY = "tt_0a1b2c3d_Q2hhbmdlIHRoaXMgc2VjcmV0IGtleSBwbGVhc2UgMTIzNDU2"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # One-click, invitation and password-reset tokens in paths, raw and URL-encoded.
        (
            f'"GET /portal/one-click/{TOKEN}/ HTTP/1.1" 200',
            '"GET /portal/one-click/[redacted]/ HTTP/1.1" 200',
        ),
        (f"Not Found: /portal/one-click/{TOKEN}/", "Not Found: /portal/one-click/[redacted]/"),
        (f"Gone: /portal/one-click/{TOKEN}", "Gone: /portal/one-click/[redacted]"),
        (
            f'"http://h.example/portal/one-click/{TOKEN}/?x=1"',
            '"http://h.example/portal/one-click/[redacted]/?x=1"',
        ),
        (
            f"/portal/login/?next=%2Fportal%2Fone-click%2F{TOKEN.replace(':', '%3A')}%2F",
            "/portal/login/?next=%2Fportal%2Fone-click%2F[redacted]%2F",
        ),
        ("Not Found: /portal/invitation/3pQ_vX-9aa/", "Not Found: /portal/invitation/[redacted]/"),
        ("/portal/password-reset/MQ/cm0x3a-9f8e7d6c5b4a3b2c1d0e/", "/portal/password-reset/MQ/[redacted]/"),
        ("/portal/password-reset/sent/", "/portal/password-reset/sent/"),
        ("/portal/password-reset/done/", "/portal/password-reset/done/"),
        # Authorization header values and API keys.
        (f"Authorization: Bearer {KEY}", "Authorization: Bearer [redacted]"),
        ("authorization=bearer abc.def.ghi", "authorization=bearer [redacted]"),
        ("Basic dXNlcjpwYXNzd29yZA==", "Basic [redacted]"),
        ("Basic settings apply", "Basic settings apply"),
        (f"key {KEY} pasted", "key tt_0a1b2c3d_[redacted] pasted"),
        # NAME=VALUE pairs whose name speaks of a secret.
        (
            "sessionid=x7k2m9q0w; csrftoken=Zz9; lang=de",
            "sessionid=[redacted]; csrftoken=[redacted]; lang=de",
        ),
        ("/api/v1/x?api_key=abc123&page=2", "/api/v1/x?api_key=[redacted]&page=2"),
        (
            "csrfmiddlewaretoken=abc&password=hunter2&username=desk",
            "csrfmiddlewaretoken=[redacted]&password=[redacted]&username=desk",
        ),
        ("access_token%3Dabc", "access_token%3D[redacted]"),
        ("?key=1&sig=2&signature=3", "?key=[redacted]&sig=[redacted]&signature=[redacted]"),
        # Look-alikes stay.
        ("monkey=banana country_code=NL keyboard=1", "monkey=banana country_code=NL keyboard=1"),
        ("/portal/notices/TN-2026-000001/", "/portal/notices/TN-2026-000001/"),
        ("traced url 5: ip=198.51.100.10 provider=3", "traced url 5: ip=198.51.100.10 provider=3"),
    ],
)
def test_redact(line, expected):
    assert redact(line) == expected


def _record(msg, *args, exc_info=None, stack_info=None) -> logging.LogRecord:
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, msg, args, exc_info)
    record.stack_info = stack_info
    return record


def test_the_filter_redacts_the_formatted_message_and_keeps_the_record():
    record = _record("Not Found: %s", f"/portal/one-click/{TOKEN}/")
    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == "Not Found: /portal/one-click/[redacted]/"


def test_the_filter_redacts_dict_arguments_as_gunicorn_passes_them():
    record = _record(
        "%(r)s %({authorization}i)s", {"r": "GET / HTTP/1.1", "{authorization}i": f"Bearer {KEY}"}
    )
    RedactingFilter().filter(record)
    assert record.getMessage() == "GET / HTTP/1.1 Bearer [redacted]"


def test_the_filter_leaves_a_clean_record_as_it_was():
    record = _record("checked %d urls", 5)
    RedactingFilter().filter(record)
    assert (record.msg, record.args) == ("checked %d urls", (5,))


def test_the_filter_redacts_tracebacks_and_stacks():
    try:
        raise ValueError(f"cannot open /portal/invitation/{TOKEN}/")
    except ValueError:
        record = _record("failed", exc_info=sys.exc_info(), stack_info=f"at Bearer {KEY}")
    RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert TOKEN not in text and KEY not in text
    assert "/portal/invitation/[redacted]/" in text and "Bearer [redacted]" in text


def test_a_broken_format_still_reaches_the_handler():
    record = _record("%d items", "not a number")
    assert RedactingFilter().filter(record) is True


def test_every_handler_gets_the_filter_once():
    logger = logging.getLogger("tests.redaction")
    handlers = [logging.StreamHandler(), logging.NullHandler()]
    for handler in handlers:
        logger.addHandler(handler)
    try:
        redact_handlers(logger)
        redact_handlers(logger)
        assert [len(h.filters) for h in handlers] == [1, 1]
    finally:
        for handler in handlers:
            logger.removeHandler(handler)


def _handlers_reached(logger: logging.Logger) -> list[logging.Handler]:
    """The handlers a record of `logger` reaches that write somewhere (pytest's capture handlers aside)."""
    handlers = []
    while logger is not None:
        handlers += [
            h
            for h in logger.handlers
            if not type(h).__module__.startswith("_pytest") and not isinstance(h, logging.NullHandler)
        ]
        logger = logger.parent if logger.propagate else None
    return handlers


def test_django_logging_redacts_every_line():
    """Django's own loggers go through the project's handler (tracker/settings.py LOGGING), not Django's
    defaults, so request warnings and runserver lines are redacted too."""
    names = ("django.request", "django.server", "django.security.csrf", "notices.anything", "celery")
    for name in names:
        handlers = _handlers_reached(logging.getLogger(name))
        assert handlers, name
        assert all(any(isinstance(f, RedactingFilter) for f in h.filters) for h in handlers), name
    (console,) = _handlers_reached(logging.getLogger())
    buffer = io.StringIO()
    previous = console.setStream(buffer)
    try:
        for name in names:
            logging.getLogger(name).warning("Not Found: /portal/one-click/%s/", TOKEN)
    finally:
        console.setStream(previous)
    assert TOKEN not in buffer.getvalue()
    assert buffer.getvalue().count("Not Found: /portal/one-click/[redacted]/") == len(names)
