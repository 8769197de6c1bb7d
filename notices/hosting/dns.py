"""DNS resolution for the tracer with dnspython, honouring the DNS_RESOLVER setting."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import dns.exception
import dns.rdatatype
import dns.resolver
from django.conf import settings

from notices.checks.resolving import parse_resolver as parse_resolver_spec


@dataclass
class Resolution:
    ips: list[str] = field(default_factory=list)
    cnames: list[str] = field(default_factory=list)
    error: str = ""


def parse_resolver(spec: str) -> tuple[str, int]:
    """`host[:port]`, IPv6 as `[addr]:port` → (address, port). Port defaults to 53.

    The checker's parser, so DNS_RESOLVER means the same to the tracer and the checker (ports 1–65535 only).
    """
    address = parse_resolver_spec(spec)
    if address is None:
        raise ValueError("DNS resolver: empty; expected IP[:PORT] (IPv6 as [addr]:PORT)")
    return address


def make_resolver(spec: str | None = None) -> dns.resolver.Resolver:
    spec = settings.DNS_RESOLVER if spec is None else spec
    if not spec:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        host, port = parse_resolver(spec)
        resolver.nameservers = [host]
        resolver.port = port
    resolver.lifetime = settings.DNS_TIMEOUT
    return resolver


def resolve_host(host: str, *, resolver: dns.resolver.Resolver | None = None) -> Resolution:
    """A and AAAA answers with the CNAME chain. An IP literal resolves to itself."""
    bare = host.strip("[]")
    try:
        return Resolution(ips=[str(ipaddress.ip_address(bare))])
    except ValueError:
        pass
    resolver = resolver or make_resolver()
    result = Resolution()
    for rtype in ("A", "AAAA"):
        try:
            answer = resolver.resolve(host, rtype)
        except dns.resolver.NXDOMAIN:
            return Resolution(error="nxdomain")
        except dns.resolver.NoAnswer:
            continue
        except (dns.resolver.NoNameservers, dns.exception.Timeout) as exc:
            result.error = "servfail" if isinstance(exc, dns.resolver.NoNameservers) else "dns_timeout"
            continue
        _collect(answer, result)
    return result


def _collect(answer, result: Resolution) -> None:
    for rrset in answer.response.answer:
        for rdata in rrset:
            if rrset.rdtype == dns.rdatatype.CNAME:
                target = str(rdata.target).rstrip(".")
                if target not in result.cnames:
                    result.cnames.append(target)
            elif rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA) and rdata.address not in result.ips:
                result.ips.append(rdata.address)
