"""The one synchronous HTTP client for the URLs we are given (webhooks) and the servers we ask (RDAP).

Every request:
1. parses the URL (http/https only, no credentials in it);
2. resolves the host through the one resolver (`notices.infra.resolver`, DNS_RESOLVER), once;
3. checks every address with the SSRF `Guard` (whoever controls the zone picks the order) and connects to the
   first one (or where the Guard's connect_to map sends it) — the socket goes to exactly the checked address,
   so a second DNS answer cannot move it (no rebinding between check and connect);
4. speaks TLS with SNI and hostname verification for https (the URL's host, whatever address it went to);
5. holds the whole exchange to `timeout` seconds (connect, TLS, request, response head and body, every hop):
   a server that answers one byte at a time is cut off at the deadline, not per byte;
6. reads at most `max_bytes` of the body; the response says whether there was more (`truncated`);
7. does not follow redirects unless `max_redirects` > 0; each followed hop is a new request from step 1 (so it
   is guarded again) after `may_follow(url)` allowed it.

No proxy from the environment, no cookies, no decompression, one connection per request.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import dns.resolver

from notices.infra.resolver import resolve_addresses
from notices.infra.ssrf import Guard

MAX_BYTES = 1 << 20
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class HttpError(Exception):
    """A request that produced no usable response for a reason of its own (not the network's)."""


class RedirectRefused(HttpError):
    """`may_follow` refused a redirect's target; `url` is that target."""

    def __init__(self, url: str) -> None:
        super().__init__(f"redirect to {url} refused")
        self.url = url


class TooManyRedirects(HttpError):
    pass


@dataclass(frozen=True)
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes  # at most max_bytes
    truncated: bool  # the server had more than max_bytes to send
    url: str  # the URL that answered (the last hop)
    address: str  # the checked address the connection went to


def request(
    method: str,
    url: str,
    *,
    guard: Guard,
    timeout: float,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    max_bytes: int = MAX_BYTES,
    max_redirects: int = 0,
    may_follow: Callable[[str], bool] | None = None,
    resolver: dns.resolver.Resolver | None = None,
    tls: ssl.SSLContext | None = None,
) -> Response:
    """Send one request (see the module docstring for every step) and return the response.

    Raises `BlockedTarget` (a forbidden address), `ResolveError` (no address), `TimeoutError`, `ssl.SSLError`
    and other `OSError`s (the network), `http.client.HTTPException` (a broken answer), `RedirectRefused`,
    `TooManyRedirects`, and `ValueError` for a URL we do not send requests to. `tls` replaces the system's
    trust store (tests use their own CA); `resolver` replaces the DNS_RESOLVER one.
    """
    deadline = time.monotonic() + timeout
    for _hop in range(max_redirects + 1):
        response = _exchange(
            method,
            url,
            body,
            dict(headers or {}),
            guard=guard,
            deadline=deadline,
            max_bytes=max_bytes,
            resolver=resolver,
            tls=tls,
        )
        location = response.headers.get("Location")
        if max_redirects == 0 or response.status not in REDIRECT_STATUSES or not location:
            return response
        url = urljoin(url, location.strip())
        if may_follow is not None and not may_follow(url):
            raise RedirectRefused(url)
        if response.status == 303 or (response.status in (301, 302) and method == "POST"):
            method, body = "GET", None  # what browsers do; 307/308 repeat the request as it was
    raise TooManyRedirects(f"more than {max_redirects} redirects")


def _exchange(
    method: str,
    url: str,
    body: bytes | None,
    headers: dict[str, str],
    *,
    guard: Guard,
    deadline: float,
    max_bytes: int,
    resolver: dns.resolver.Resolver | None,
    tls: ssl.SSLContext | None,
) -> Response:
    """One request on one pinned connection (steps 1–6)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError("credentials in a URL are never sent")
    port = parts.port or (443 if parts.scheme == "https" else 80)  # .port raises ValueError when out of range
    addresses = resolve_addresses(parts.hostname, resolver=resolver)
    for ip in addresses:
        guard.check(ip)
    context = (tls or ssl.create_default_context()) if parts.scheme == "https" else None
    conn = _PinnedConnection(
        parts.hostname,
        port,
        guard.connect_address(addresses[0], port),
        tls=context,
        timeout=_remaining(deadline),
    )
    watchdog = _Watchdog(conn, _remaining(deadline))
    try:
        conn.request(
            method,
            (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
            body=body,
            headers={"Connection": "close", **headers},
        )
        response = conn.getresponse()
        data = _read(response, max_bytes + 1)
        if watchdog.fired:  # the cut ends a read like a close would
            raise TimeoutError("timed out")
    except (OSError, http.client.HTTPException):
        if watchdog.fired:
            raise TimeoutError("timed out") from None
        raise
    finally:
        watchdog.cancel()
        conn.close()
    return Response(
        status=response.status,
        headers=response.headers,
        body=data[:max_bytes],
        truncated=len(data) > max_bytes,
        url=url,
        address=str(addresses[0]),
    )


def _read(response: http.client.HTTPResponse, limit: int) -> bytes:
    """Up to `limit` bytes of the body: a read returns what has arrived, so read until the end or the limit.
    A connection closed before the announced Content-Length is a broken answer (IncompleteRead)."""
    data = bytearray()
    while len(data) < limit:
        chunk = response.read(min(limit - len(data), 65536))
        if not chunk:
            if response.length:  # bytes announced and never sent
                raise http.client.IncompleteRead(bytes(data), response.length)
            break
        data += chunk
    return bytes(data)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


class _PinnedConnection(http.client.HTTPConnection):
    """HTTP(S) to `host` (Host header, TLS SNI and certificate name) over a socket to `address`."""

    def __init__(
        self, host: str, port: int, address: tuple[str, int], *, tls: ssl.SSLContext | None, timeout: float
    ) -> None:
        super().__init__(host, port, timeout=timeout)
        self.default_port = 443 if tls is not None else 80  # no ":443" in the Host header
        self._address, self._tls = address, tls

    def connect(self) -> None:
        sock = socket.create_connection(self._address, self.timeout)
        if self._tls is not None:
            try:
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
        self.sock = sock


class _Watchdog:
    """Cuts the connection at the deadline: socket timeouts alone apply per read, so a server sending a byte
    now and then would hold a request for ever. Shutting the socket down wakes a blocked read at once."""

    def __init__(self, conn: _PinnedConnection, seconds: float) -> None:
        self.fired = False
        self._conn = conn
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        sock = self._conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()
