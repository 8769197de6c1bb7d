"""DNS resolution for the tracer: A and AAAA with the CNAME chain, through the one resolver builder
(`notices.infra.resolver`, honouring DNS_RESOLVER and DNS_TIMEOUT)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import dns.exception
import dns.rdatatype
import dns.resolver

from notices.infra.resolver import make_resolver


@dataclass
class Resolution:
    ips: list[str] = field(default_factory=list)
    cnames: list[str] = field(default_factory=list)
    error: str = ""


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
