"""Liveness checker engine: GET each URL, follow redirects by hand, classify (INTERFACES.md outcome table).

Pure asyncio + aiohttp + dnspython, no Django, so the Celery task, the benchmark and the tests drive the same
code. Safety (PRODUCT.md rules 1 and 3): every hop's host is resolved here, its address checked by the Guard,
and the socket goes to exactly that address (rewritten URL + Host header + TLS server_hostname), so DNS
rebinding cannot move it; at most `max_bytes` of a body is read (to keep connections reusable) and dropped.

One batch = one ClientSession, one connector, one DNS cache, and `concurrency` worker coroutines pulling
targets lazily from the input, so memory stays O(concurrency) however many targets the iterable yields.
"""

import asyncio
import functools
import ipaddress
import re
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

import aiohttp
from yarl import URL

from notices.checks.classify import (
    REDIRECT_STATUSES,
    Outcome,
    StopCheck,
    classify_failure,
    classify_response,
    redirect_target,
)
from notices.checks.politeness import HostLimiter, Scheduler
from notices.checks.resolving import DnsFailure, HostResolver
from notices.infra.resolver import make_async_resolver
from notices.infra.ssrf import Guard, IPAddress

# WHATWG URL parsing reads a host whose last label is a number ("127.1", "0x7f000001") as IPv4; browsers
# would go to 127.0.0.1 while DNS would say NXDOMAIN (a false "gone"), so such hosts are refused as bad URLs.
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class CheckConfig:
    """Everything a batch needs; built by the caller from settings (times in seconds)."""

    user_agent: str
    connect_timeout: float = 10
    read_timeout: float = 15
    total_timeout: float = 30  # whole check incl. DNS and redirects; politeness waits don't count
    max_bytes: int = 4096
    max_redirects: int = 5
    concurrency: int = 100
    per_host: int = 2
    per_host_per_minute: int = 60
    rate_window: float = 60  # seconds the per_host_per_minute count runs over (tests shorten it)
    resolver: str = ""  # DNS_RESOLVER: host[:port] / [v6]:port; empty = system configuration
    dns_timeout: float = 5
    allow_private: bool = False  # CHECKER_ALLOW_PRIVATE_TARGETS (tests and demo only)
    connect_to: str = ""  # CHECKER_CONNECT_TO (tests and demo only)
    proxy: str = ""  # http://host:port of a vantage point; empty = direct

    def __post_init__(self) -> None:
        # Fail loudly: e.g. concurrency=0 would start no worker and silently check nothing.
        for name in ("concurrency", "per_host", "per_host_per_minute"):
            if getattr(self, name) < 1:
                raise ValueError(f"CheckConfig.{name} must be at least 1")
        if self.max_bytes < 0 or self.max_redirects < 0:
            raise ValueError("CheckConfig.max_bytes and max_redirects must not be negative")


@dataclass(frozen=True, slots=True)
class CheckTarget:
    """One URL to check; `removed_page_rules` are the provider's (status or None, final-URL regex) pairs."""

    key: int
    url: str
    removed_page_rules: tuple[tuple[int | None, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Observation:
    """What one check saw. Deliberately no body field: bodies are never kept (safety rule 1)."""

    key: int
    outcome: Outcome
    status_code: int | None  # of the last response received (the final URL's), None when none came
    final_url: str  # the last URL requested (after redirects)
    error_class: str  # "" or a short stable name, e.g. "nxdomain", "read_timeout", "soft_404"
    resolved_ip: str  # the address validated for the last hop ("" when DNS failed)
    redirects: int
    elapsed_ms: int
    checked_at: datetime  # UTC, when the answer (or the failure) was observed
    vantage: str  # "direct" or the proxy's host:port


@dataclass(slots=True)
class _Job:
    target: CheckTarget
    url: URL | None  # None when the URL is not a usable http(s) URL
    host: str


class _Progress:
    """Mutable state of one check, readable after a timeout or error cut it short."""

    __slots__ = ("deadline", "ip", "redirects", "status", "timeout", "url", "waited")

    def __init__(self, url: str | URL) -> None:
        self.url, self.status, self.ip, self.redirects, self.waited = url, None, "", 0, 0.0
        self.timeout: asyncio.Timeout | None = None
        self.deadline = 0.0

    def enter(self, url: URL) -> None:
        self.url, self.status, self.ip = url, None, ""


class _Route(NamedTuple):
    ip: str  # the checked address, as text
    base: str | None  # "scheme://host:port" the socket really goes to; None = send the URL to the proxy as is


class _ProxyOnlyResolver(aiohttp.abc.AbstractResolver):
    """aiohttp's resolver: it may resolve only the proxy's name; targets are always passed as checked IPs."""

    def __init__(self, proxy_host: str, dns: HostResolver) -> None:
        self._proxy_host = proxy_host
        self._dns = dns

    async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[aiohttp.abc.ResolveResult]:
        if host != self._proxy_host:
            raise OSError(f"refusing to resolve {host!r}: the checker resolves targets itself")
        try:
            ip = await self._dns.resolve(host)
        except DnsFailure as exc:  # the proxy's own name failing says nothing about the target
            raise OSError(f"proxy {host}: {exc.error_class}") from None
        family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
        return [{"hostname": host, "host": str(ip), "port": port, "family": family, "proto": 0, "flags": 0}]

    async def close(self) -> None:
        pass


class _Checker:
    """One batch's shared machinery: session, connector, DNS cache, Guard, per-host limits."""

    def __init__(self, config: CheckConfig) -> None:
        self.config = config
        self.guard = Guard.from_spec(config.connect_to, allow_private=config.allow_private)
        self.dns = HostResolver(make_async_resolver(config.resolver, config.dns_timeout))
        self.limiter = HostLimiter(config.per_host, config.per_host_per_minute, config.rate_window)
        self.proxy = URL(config.proxy) if config.proxy else None
        self.vantage = f"{self.proxy.host_subcomponent}:{self.proxy.port}" if self.proxy else "direct"
        self.session: aiohttp.ClientSession | None = None
        self._routes: dict[tuple[IPAddress, int, str], _Route] = {}

    async def __aenter__(self) -> "_Checker":
        connector = aiohttp.TCPConnector(
            limit=self.config.concurrency,
            use_dns_cache=False,
            resolver=_ProxyOnlyResolver(self.proxy.raw_host if self.proxy else "", self.dns),
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=self.config.connect_timeout, sock_read=self.config.read_timeout
            ),
            headers={"User-Agent": self.config.user_agent},
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,  # the body is never looked at
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.dns.close()
        await self.session.close()

    async def check(self, job: _Job) -> Observation:
        """Check one target; never raises (every failure becomes an UNKNOWN/GONE observation)."""
        started = time.monotonic()
        progress = _Progress(job.target.url)
        try:
            async with asyncio.timeout(self.config.total_timeout) as progress.timeout:
                progress.deadline = asyncio.get_running_loop().time() + self.config.total_timeout
                outcome, error_class = await self._follow(job, progress)
        except Exception as exc:
            outcome, error_class = classify_failure(exc, job.url, progress.url, progress.redirects)
        return Observation(
            key=job.target.key,
            outcome=outcome,
            status_code=progress.status,
            final_url=str(progress.url),
            error_class=error_class,
            resolved_ip=progress.ip,
            redirects=progress.redirects,
            elapsed_ms=round((time.monotonic() - started - progress.waited) * 1000),
            checked_at=datetime.now(UTC),
            vantage=self.vantage,
        )

    async def _follow(self, job: _Job, progress: _Progress) -> tuple[Outcome, str]:
        """GET, and GET each Location again (manually, so every hop passes the Guard) up to max_redirects."""
        if job.url is None:
            raise StopCheck("bad_url")
        url = job.url
        while True:
            progress.enter(url)
            status, location = await self._fetch(url, progress)
            if status not in REDIRECT_STATUSES or location is None:
                return classify_response(
                    job.target.removed_page_rules, job.url, url, status, progress.redirects
                )
            if progress.redirects >= self.config.max_redirects:
                return Outcome.UNKNOWN, "too_many_redirects"
            url = redirect_target(url, location)
            progress.redirects += 1

    async def _fetch(self, url: URL, progress: _Progress) -> tuple[int, str | None]:
        """One request to `url` through the checked address; returns (status, Location header)."""
        host = url.raw_host
        ip = await self._address(host)
        route = self._routes.get((ip, url.port, url.scheme)) or self._new_route(ip, url, progress)
        progress.ip = route.ip
        request_url, options = self._request(url, route)
        if self.limiter.would_wait(host):
            await self._wait_politely(host, progress)
        else:
            await self.limiter.acquire(host)
        try:
            async with self.session.get(request_url, allow_redirects=False, **options) as response:
                progress.status = response.status
                await self._drain(response, progress.deadline)
                return response.status, response.headers.get("Location")
        finally:
            self.limiter.release(host)

    async def _address(self, host: str) -> IPAddress:
        """IP literals as they are; names through the batch's DNS cache (raises DnsFailure)."""
        literal, numeric = _parse_host(host)
        if literal is not None:
            return literal
        if numeric:
            raise StopCheck("bad_url")
        return await self.dns.resolve(host)

    def _new_route(self, ip: IPAddress, url: URL, progress: _Progress) -> _Route:
        """Check `ip` with the Guard and work out where its socket goes; cached per (ip, port, scheme).

        Through a proxy the original URL is sent, so the vantage point resolves it itself; only when the demo
        connect_to map applies is the rewritten URL sent to the proxy too.
        """
        progress.ip = str(ip)
        self.guard.check(ip)
        port = url.port
        host, connect_port = self.guard.connect_address(ip, port)
        if self.proxy is not None and (host, connect_port) == (progress.ip, port):
            route = _Route(progress.ip, None)
        else:
            route = _Route(
                progress.ip, f"{url.scheme}://{f'[{host}]' if ':' in host else host}:{connect_port}"
            )
        if len(self._routes) >= 4096:
            self._routes.clear()
        self._routes[(ip, port, url.scheme)] = route
        return route

    def _request(self, url: URL, route: _Route) -> tuple[URL, dict]:
        """Request URL and options: the socket goes to the route's address, Host header and TLS SNI stay."""
        if route.base is None:
            return url.with_user(None), {"proxy": self.proxy}  # never send a reported URL's credentials
        options = {"headers": {"Host": url.host_port_subcomponent}, "proxy": self.proxy}
        if url.scheme == "https":
            options["server_hostname"] = url.raw_host
        return URL(route.base + url.raw_path_qs, encoded=True), options

    async def _wait_politely(self, host: str, progress: _Progress) -> None:
        """Acquire a HostLimiter slot; the wait is ours, not the site's, so the check's timeout is paused."""
        deadline = progress.timeout.when()
        progress.timeout.reschedule(None)
        waiting_since = time.monotonic()
        await self.limiter.acquire(host)
        waited = time.monotonic() - waiting_since
        progress.waited += waited
        progress.deadline += waited
        progress.timeout.reschedule(deadline + waited)

    async def _drain(self, response: aiohttp.ClientResponse, deadline: float) -> None:
        """Read at most max_bytes and drop them; a slow or broken body doesn't matter, the status is known."""
        content, remaining = response.content, self.config.max_bytes
        try:
            while remaining > 0 and content.is_eof():  # fast path: the body is already buffered
                chunk = content.read_nowait(remaining)
                if not chunk:
                    return
                remaining -= len(chunk)
            budget = min(self.config.read_timeout, deadline - asyncio.get_running_loop().time() - 0.01)
            if remaining <= 0 or budget <= 0:
                return
            async with asyncio.timeout(budget):
                while remaining > 0:
                    chunk = await content.read(remaining)
                    if not chunk:
                        return
                    remaining -= len(chunk)
        except (TimeoutError, aiohttp.ClientError, OSError):
            pass  # the unread rest makes aiohttp close (not reuse) the connection


@functools.lru_cache(maxsize=4096)
def _parse_host(host: str) -> tuple[IPAddress | None, bool]:
    """(address if `host` is an IP literal, whether its last label is numeric); cached, hosts repeat a lot."""
    try:
        return ipaddress.ip_address(host), False
    except ValueError:
        return None, bool(_NUMERIC_LABEL.fullmatch(host.rstrip(".").rpartition(".")[2]))


def _job(target: CheckTarget) -> _Job:
    """Parse the URL once, up front; anything unusable becomes a job that ends as UNKNOWN "bad_url"."""
    try:
        url = URL(target.url)
        if url.scheme in ("http", "https") and url.raw_host:
            return _Job(target, url, url.raw_host)
    except (ValueError, TypeError):
        pass
    return _Job(target, None, "")


async def check_each(
    targets: Iterable[CheckTarget], config: CheckConfig, on_result: Callable[[Observation], object]
) -> int:
    """Check every target, calling `on_result` with each Observation as it completes (not in input order).

    Streams: targets are pulled lazily by `concurrency` workers, so a generator of 1,000,000 targets needs
    O(concurrency) memory. A failure of one target never raises; an exception from `on_result` does (and
    stops the batch). Returns the number of targets checked.
    """
    count = 0
    async with _Checker(config) as checker:
        scheduler = Scheduler(
            (_job(target) for target in targets),
            lambda job: job.host,
            per_host=config.per_host,
            max_parked=config.concurrency * 20,
        )

        async def work() -> None:
            nonlocal count
            while (job := await scheduler.next()) is not None:
                try:
                    observation = await checker.check(job)
                finally:
                    scheduler.done(job.host)
                count += 1
                on_result(observation)

        async with asyncio.TaskGroup() as workers:
            for _ in range(config.concurrency):
                workers.create_task(work())
    return count
