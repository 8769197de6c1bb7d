"""The check outcome table (INTERFACES.md "Definitions") as code: responses and errors → (outcome, class).

`error_class` values are short stable names that end up in the database and in statistics; never rename one.
"""

import errno
import logging
import re
import ssl
from collections.abc import Iterable
from enum import StrEnum

import aiohttp
from yarl import URL

from notices.checks.resolving import DnsFailure
from notices.infra.ssrf import BlockedTarget

logger = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
GONE_STATUSES = frozenset({404, 410, 451})
BLOCKED_STATUSES = frozenset({401, 403})


class Outcome(StrEnum):
    LIVE = "live"
    GONE = "gone"
    BLOCKED = "blocked"
    UNKNOWN = "unknown"


class StopCheck(Exception):
    """End a check early as UNKNOWN with a fixed error class (bad URL, bad redirect, …)."""

    def __init__(self, error_class: str) -> None:
        super().__init__(error_class)
        self.error_class = error_class


def classify_response(
    rules: Iterable[tuple[int | None, str]], original: URL, final: URL, status: int, redirects: int
) -> tuple[Outcome, str]:
    """Outcome of a final (non-redirect) response: removed-page rules, then soft 404, then the status."""
    for rule_status, pattern in rules:
        if (rule_status is None or rule_status == status) and re.search(pattern, str(final)):
            return Outcome.GONE, "removed_page_rule"
    if 200 <= status < 300:
        if redirects and _is_root(final) and not _is_root(original):
            return Outcome.GONE, "soft_404"
        return Outcome.LIVE, ""
    if status in GONE_STATUSES:
        return Outcome.GONE, ""
    if status in BLOCKED_STATUSES:
        return Outcome.BLOCKED, ""
    return Outcome.UNKNOWN, "http_error"


def _is_root(url: URL) -> bool:
    return url.raw_path in ("", "/") and not url.raw_query_string


def redirect_target(current: URL, location: str) -> URL:
    """Absolute URL of a Location header (relative to `current`); only http(s) is followed."""
    try:
        url = current.join(URL(location))
    except ValueError:
        raise StopCheck("bad_redirect") from None
    if url.scheme not in ("http", "https") or not url.raw_host:
        raise StopCheck("bad_redirect")
    return url


# aiohttp reports a reset while reading the response as ClientOSError(ECONNRESET), not ConnectionResetError.
_RESET_ERRNOS = frozenset({errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE})

# First match wins; the order matters because aiohttp's exception classes inherit from one another.
_ERROR_CLASSES: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((BlockedTarget,), "blocked_target"),
    ((aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError), "proxy_error"),
    ((aiohttp.ClientSSLError, ssl.SSLError), "tls_error"),
    ((aiohttp.ConnectionTimeoutError,), "connect_timeout"),
    ((aiohttp.ServerTimeoutError,), "read_timeout"),
    ((TimeoutError,), "total_timeout"),
    ((aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, ConnectionResetError), "reset"),
    ((aiohttp.ClientConnectorError,), "connect_error"),
    ((aiohttp.ClientResponseError,), "protocol_error"),
    ((aiohttp.InvalidURL,), "bad_url"),
    ((aiohttp.ClientError, OSError), "connection_error"),
    ((re.error,), "bad_rule"),
)


def classify_error(exc: Exception) -> tuple[Outcome, str]:
    """(outcome, error_class) for an exception that ended a check; unexpected ones are logged, not raised."""
    if isinstance(exc, DnsFailure):
        return (Outcome.GONE if exc.gone else Outcome.UNKNOWN), exc.error_class
    if isinstance(exc, StopCheck):
        return Outcome.UNKNOWN, exc.error_class
    if _is_refused(exc):
        return Outcome.GONE, "connection_refused"
    if isinstance(exc, OSError) and exc.errno in _RESET_ERRNOS:
        return Outcome.UNKNOWN, "reset"
    for types, error_class in _ERROR_CLASSES:
        if isinstance(exc, types):
            return Outcome.UNKNOWN, error_class
    logger.warning("unexpected error while checking a URL", exc_info=exc)
    return Outcome.UNKNOWN, "error"


def classify_failure(
    exc: Exception, original: URL | None, current: URL | str, redirects: int
) -> tuple[Outcome, str]:
    """(outcome, error_class) for a check that `exc` ended while requesting `current`, `redirects` hops in.

    NXDOMAIN and a refused connection mean gone only for the reported URL's own host. After a redirect the
    reported site chose the target, so a target that does not resolve or refuses says nothing about the
    content, and a site could fake a removal that way: such a hop is UNKNOWN (`redirect_nxdomain`,
    `redirect_connection_refused`). The exception is the outcome table's soft 404: a redirect from a page to
    a root (the site's or another host's) is gone whether or not that root then answers. A transient failure
    (timeout, SERVFAIL, reset) stays UNKNOWN with its own class wherever it happens.
    """
    outcome, error_class = classify_error(exc)
    if outcome is not Outcome.GONE or not redirects:
        return outcome, error_class
    if original is not None and isinstance(current, URL) and _is_root(current) and not _is_root(original):
        return Outcome.GONE, "soft_404"
    return Outcome.UNKNOWN, f"redirect_{error_class}"


def _is_refused(exc: Exception) -> bool:
    """Connection refused by the target itself (gone), not by a proxy (the vantage point's problem)."""
    return (
        isinstance(exc, aiohttp.ClientConnectorError)
        and not isinstance(exc, aiohttp.ClientProxyConnectionError)
        and isinstance(exc.os_error, ConnectionRefusedError)
    )
