"""Secrets never reach a log line: the patterns, and the logging filter every handler carries.

Redacted wherever they appear in a line (a request path, a Referer, a header an access-log format prints, an
exception message, a traceback), also URL-encoded (`%2F` for `/`):

- the tokens in link paths: `/one-click/TOKEN/` (acts without sign-in for ONE_CLICK_LINK_MAX_AGE),
  `/invitation/TOKEN/`, `/password-reset/UID/TOKEN/`;
- `Bearer TOKEN` and `Basic CREDENTIALS`;
- API keys `tt_PREFIX_SECRET` (the prefix stays: it names the key, and cannot be used as one);
- AWS access key ids (`AKIA…`/`ASIA…`, the first eight characters stay) and Fernet tokens (the encrypted
  provider API credentials, `gAAAAA…`); a SigV4 `Signature=` and an `X-Amz-Security-Token=` go as named
  secrets below;
- `NAME=VALUE` where the name speaks of a session, CSRF token, token, secret, password or API key, or is
  `key`, `sig` or `signature` (cookies, query strings, form bodies).

Django's LOGGING puts `RedactingFilter` on its handler (tracker/settings.py), the Celery worker on its own
(tracker/celery.py), and gunicorn's access and error logs get it through `tracker.gunicorn_logging`.
Nothing here imports Django: gunicorn's master process loads it before any settings.
"""

from __future__ import annotations

import logging
import re

MARK = "[redacted]"

_SLASH = r"(?:/|%2[fF])"
_SEGMENT = r"(?:(?!%2[fF])[^/\s?#&\"'<>])+"  # one path segment, raw or URL-encoded
_SENSITIVE_WORDS = "session|csrf|token|secret|passw(?:or)?d|api[_-]?key"
_SENSITIVE_NAMES = rf"[\w.-]*(?:{_SENSITIVE_WORDS})[\w.-]*|key|sig|signature"

PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Link tokens in paths (the request line, Referer, "Not Found: /…" warnings, `next=` parameters).
    (re.compile(rf"({_SLASH}(?:one-click|invitation){_SLASH}){_SEGMENT}"), rf"\g<1>{MARK}"),
    (re.compile(rf"({_SLASH}password-reset{_SLASH}{_SEGMENT}{_SLASH}){_SEGMENT}"), rf"\g<1>{MARK}"),
    # Authorization header values (Basic only as the scheme is written, with base64 after it).
    (re.compile(r"(?i)\b(bearer)(\s+|%20|\+)[^\s\"',;&]+"), rf"\g<1>\g<2>{MARK}"),
    (
        re.compile(r"\b(Basic)(\s+|%20|\+)(?![A-Za-z][a-z]*\b)[A-Za-z0-9+/]{8,}={0,2}(?![\w+/=])"),
        rf"\g<1>\g<2>{MARK}",
    ),
    # API keys wherever they are pasted.
    (re.compile(r"\b(tt_[0-9a-f]{8}_)[A-Za-z0-9_-]+"), rf"\g<1>{MARK}"),
    # AWS access key ids (long-term AKIA…, temporary ASIA…) and a SigV4 Authorization's credential scope.
    (re.compile(r"\b((?:AKIA|ASIA)[0-9A-Z]{4})[0-9A-Z]{12}\b"), rf"\g<1>{MARK}"),
    # Fernet tokens (stored provider API credentials), should one ever be printed.
    (re.compile(r"\bgAAAAA[A-Za-z0-9_-]{40,}={0,2}"), MARK),
    # NAME=VALUE pairs with a secret's name (cookies, query strings, form bodies).
    (re.compile(rf"(?i)(?<![\w.-])({_SENSITIVE_NAMES})(=|%3[dD])[^\s&;\"',]+"), rf"\g<1>\g<2>{MARK}"),
]


def redact(text: str) -> str:
    """`text` with every secret the patterns know replaced by [redacted]."""
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, exception text and stack so that no handler ever formats a secret. It
    never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a broken format: the handler reports it, with the arguments it cannot format
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)  # as formatters do
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def redact_handlers(logger: logging.Logger) -> None:
    """Give every handler of `logger` the filter (once)."""
    for handler in logger.handlers:
        if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
            handler.addFilter(RedactingFilter())
