"""Rules shared by the trace and the lookup index, so both give the same answer for an address."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

from notices.models.choices import COUNTRIES

# Registry data marks some blocks "EU" (used across Europe) or "ZZ"/"AP": no country at all for us.
UNKNOWN_COUNTRIES = frozenset({"", "EU", "ZZ", "AP", "XX"})

# A derived provider's handle (a network naming an abuse contact but no organisation): this prefix and what
# names it (`abuse-c:ROLE-HDL`, `netname:NAME`, `abuse-mailbox:ADDRESS`). Real organisation handles never
# contain a colon, so the two never meet; merging a derived provider into the real one keeps its handle, so
# later traces of the same network find the real provider.
DERIVED_PREFIX = "derived:"


def country_code(raw: str | None) -> str:
    """The first token, upper-case, if it is a usable ISO 3166-1 alpha-2 code (notices.models.choices, the
    list the country fields' constraints allow); "" for unknown ("EU", "ZZ", codes no country has)."""
    token = (raw or "").split()[0].upper() if (raw or "").split() else ""
    return token if token in COUNTRIES and token not in UNKNOWN_COUNTRIES else ""


def is_placeholder(address: str) -> bool:
    """An abuse address that is no one's desk (HOSTING_PLACEHOLDER_CONTACTS; `@domain` entries match a
    domain)."""
    address = address.lower()
    listed = settings.HOSTING_PLACEHOLDER_CONTACTS
    return address in listed or ("@" + address.rsplit("@", 1)[-1]) in listed


def real_contacts(addresses: list[str]) -> list[str]:
    return [a for a in addresses if not is_placeholder(a)]


def is_rs_maintained(mnt_by: str) -> bool:
    """Maintained by RIPE NCC itself: the abuse-c climb stops at such an object."""
    return any(m in settings.HOSTING_RS_MAINTAINERS for m in mnt_by.split())


@lru_cache(maxsize=8)
def intermediaries(items: tuple[str, ...]) -> tuple[frozenset[int], tuple]:
    """HOSTING_INTERMEDIARIES parsed once: (ASNs, networks)."""
    asns = frozenset(int(i[2:]) for i in items if i.startswith("AS"))
    networks = tuple(ipaddress.ip_network(i) for i in items if not i.startswith("AS"))
    return asns, networks


def intermediary_reason(ip: str | None, asn: int | None) -> str:
    """Why the address belongs to a CDN / reverse proxy (HOSTING_INTERMEDIARIES), or "" if it does not."""
    asns, networks = intermediaries(tuple(settings.HOSTING_INTERMEDIARIES))
    if asn is not None and asn in asns:
        return f"AS{asn}"
    if ip is not None:
        address = ipaddress.ip_address(ip)
        for network in networks:
            if address.version == network.version and address in network:
                return str(network)
    return ""
