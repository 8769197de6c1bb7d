"""DNS for the checker: one dnspython resolver per batch (built by `notices.infra.resolver`), each host looked
up once.

The engine resolves every host itself (never aiohttp or the OS) so that the address it validates with the
Guard is the address it connects to. Answers are cached for the batch (a batch lasts minutes, far below usual
TTLs) in a bounded LRU, and concurrent lookups of one host share a single query.
"""

import asyncio
import functools
import ipaddress
from collections import OrderedDict
from typing import NamedTuple

import dns.asyncresolver
import dns.exception
import dns.resolver

from notices.infra.ssrf import IPAddress


class DnsFailure(Exception):
    """A lookup that produced no address; `gone` only for NXDOMAIN (INTERFACES.md outcome table), and only
    when the host is the reported URL's own (a redirect target's NXDOMAIN: classify.classify_failure)."""

    def __init__(self, error_class: str, *, gone: bool = False) -> None:
        super().__init__(error_class)
        self.error_class = error_class
        self.gone = gone


class _Failed(NamedTuple):
    """A cached failure; a fresh DnsFailure is raised per use so tracebacks don't pile up on one instance."""

    error_class: str
    gone: bool


class HostResolver:
    """Resolve host names to one address (A first, then AAAA) with a per-batch cache."""

    def __init__(self, resolver: dns.asyncresolver.Resolver, *, cache_size: int = 4096) -> None:
        self._resolver = resolver
        self._cache_size = cache_size
        self._cache: OrderedDict[str, IPAddress | _Failed] = OrderedDict()
        self._inflight: dict[str, asyncio.Task] = {}

    async def resolve(self, host: str) -> IPAddress:
        """The address of `host` or DnsFailure; waiters share one query, which outlives a cancelled waiter."""
        result = self._cache.get(host)
        if result is None:
            task = self._inflight.get(host)
            if task is None:
                task = asyncio.ensure_future(self._lookup(host))
                self._inflight[host] = task
                task.add_done_callback(functools.partial(self._store, host))
            result = await asyncio.shield(task)
        else:
            self._cache.move_to_end(host)
        if isinstance(result, _Failed):
            raise DnsFailure(result.error_class, gone=result.gone)
        return result

    def close(self) -> None:
        """Cancel lookups nobody waits for any more (their waiters hit a timeout)."""
        for task in self._inflight.values():
            task.cancel()

    async def _lookup(self, host: str) -> IPAddress | _Failed:
        """Query A, then AAAA when the name has no A record; never raises, failures come back as values."""
        for rdtype in ("A", "AAAA"):
            try:
                answer = await self._resolver.resolve(host, rdtype, search=False)
            except dns.resolver.NoAnswer:
                continue
            except dns.resolver.NXDOMAIN:
                return _Failed("nxdomain", True)
            except dns.resolver.NoNameservers:
                return _Failed("servfail", False)
            except dns.exception.Timeout:
                return _Failed("dns_timeout", False)
            except dns.exception.DNSException:
                return _Failed("dns_error", False)
            return ipaddress.ip_address(answer[0].address)
        return _Failed("no_address", False)

    def _store(self, host: str, task: asyncio.Task) -> None:
        del self._inflight[host]
        if task.cancelled() or task.exception() is not None:
            return
        self._cache[host] = task.result()
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
