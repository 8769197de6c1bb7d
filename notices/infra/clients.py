"""Who is asking: the client address of a request, and the key the limits count it under."""

from __future__ import annotations

import ipaddress

from django.conf import settings

IPV6_PREFIX = (
    64  # one IPv6 subscriber usually holds a whole /64: the limits count the network, not the address
)


def client_ip(request) -> str | None:
    """The address of the client: the peer, or behind a trusted proxy (TRUST_PROXY_HEADERS) the address that
    proxy appended last to X-Forwarded-For (entries before it come from the client and prove nothing)."""
    if settings.TRUST_PROXY_HEADERS:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            pass  # no header, or not an address: the peer
    return request.META.get("REMOTE_ADDR") or None


def client_key(ip: str | None) -> str:
    """What the limits count for an address: an IPv4 address (IPv4-mapped IPv6 included) as it is, an IPv6
    address as its /64 network; "" when there is no (valid) address."""
    if not ip:
        return ""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    if address.version == 6 and address.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False).network_address)
    return str(getattr(address, "ipv4_mapped", None) or address)
