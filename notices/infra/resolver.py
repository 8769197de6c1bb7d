"""The one place a dnspython resolver is built: DNS_RESOLVER and DNS_TIMEOUT mean the same to the tracer, the
checker, webhooks and RDAP.

`make_resolver` builds the synchronous resolver (tracer, HTTP client), `make_async_resolver` the asyncio one
(the checker's engine, which runs without Django and so passes the setting values itself). Both take the
resolver address as `host[:port]` (IPv6 as `[addr]:port` or a bare address); empty means the system's
configuration (/etc/resolv.conf). `resolve_addresses` is the plain "name → addresses" look-up the HTTP client
uses.
"""

from __future__ import annotations

import ipaddress

import dns.asyncresolver
import dns.exception
import dns.resolver
from django.conf import settings

from notices.infra.ssrf import IPAddress, parse_ip_port


class ResolveError(OSError):
    """A name that gave no address; `error_class` is a short stable name (nxdomain, servfail, dns_timeout…).

    An `OSError`, like a refused connection: to a caller sending a request both mean "not reachable now"."""

    def __init__(self, host: str, error_class: str) -> None:
        super().__init__(f"{host}: {error_class}")
        self.error_class = error_class


def parse_nameserver(spec: str) -> tuple[str, int]:
    """`host[:port]`, `[v6]:port` or a bare IPv6 address → (ip, port); the port defaults to 53.

    The host must be an IP address: a resolver named by hostname would need a resolver first. Raises
    ValueError naming the spec (empty included).
    """
    try:
        return parse_ip_port(spec.strip(), default_port=53)
    except ValueError as exc:
        raise ValueError(f"DNS resolver {exc}") from None


def parse_resolver(spec: str) -> tuple[str, int] | None:
    """Like `parse_nameserver`, but an empty spec is None: the system configuration."""
    return parse_nameserver(spec) if spec.strip() else None


def _configure(resolver_class, spec: str, timeout: float):
    address = parse_resolver(spec)
    if address is None:
        resolver = resolver_class()
    else:
        resolver = resolver_class(configure=False)
        resolver.nameservers = [address[0]]
        resolver.port = address[1]
    resolver.timeout = timeout  # one query
    resolver.lifetime = timeout  # the whole look-up, retries included
    return resolver


def make_resolver(spec: str | None = None, timeout: float | None = None) -> dns.resolver.Resolver:
    """A synchronous resolver for `spec` and `timeout` (seconds), by default DNS_RESOLVER and DNS_TIMEOUT."""
    return _configure(
        dns.resolver.Resolver,
        settings.DNS_RESOLVER if spec is None else spec,
        settings.DNS_TIMEOUT if timeout is None else timeout,
    )


def make_async_resolver(spec: str, timeout: float) -> dns.asyncresolver.Resolver:
    """An asyncio resolver for `spec` (DNS_RESOLVER's value) with `timeout` seconds per look-up."""
    return _configure(dns.asyncresolver.Resolver, spec, timeout)


def resolve_addresses(host: str, *, resolver: dns.resolver.Resolver | None = None) -> list[IPAddress]:
    """Every A and AAAA address of `host` (an IP literal, bracketed or not, is itself); raises ResolveError.

    A name is resolved as it is (no search domains). The caller decides which address to use; one that
    connects somewhere checks all of them, since whoever controls the zone picks their order.
    """
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    resolver = resolver or make_resolver()
    found: list[IPAddress] = []
    for rdtype in ("A", "AAAA"):
        try:
            answer = resolver.resolve(host, rdtype, search=False)
        except dns.resolver.NoAnswer:
            continue
        except dns.resolver.NXDOMAIN:
            raise ResolveError(host, "nxdomain") from None
        except dns.resolver.NoNameservers:
            raise ResolveError(host, "servfail") from None
        except dns.exception.Timeout:
            raise ResolveError(host, "dns_timeout") from None
        except dns.exception.DNSException:
            raise ResolveError(host, "dns_error") from None
        found += [ipaddress.ip_address(record.address) for record in answer]
    if not found:
        raise ResolveError(host, "no_address")
    return found
