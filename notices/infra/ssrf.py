"""Which addresses we may connect to (the SSRF guard), and the demo/test `CHECKER_CONNECT_TO` map.

Reported URLs are attacker-controlled: a URL, a DNS answer or a redirect can point at loopback, the LAN or a
cloud metadata service (PRODUCT.md safety rule 3); so is a provider's webhook URL. Every outgoing connection —
the checker's engine and the HTTP client (`notices.infra.http`: webhooks, RDAP) — validates each address it
resolves with a `Guard` and then connects to exactly that address, so a second DNS answer cannot move it.

We keep our own network table instead of relying only on `ipaddress.is_private`/`is_global`, whose answers
changed between Python patch releases (CVE-2024-4032), and because the documentation ranges must stay allowed:
they are what tests and the demo use, and they are unroutable on the real internet anyway.
"""

import functools
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
ConnectTo = tuple[IPNetwork, str, int]

# RFC 5737 / RFC 3849: reserved for examples; never forbidden here (see module docstring).
DOCUMENTATION_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)

FORBIDDEN_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # carrier-grade NAT (RFC 6598)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, includes the cloud metadata service 169.254.169.254
        "172.16.0.0/12",  # RFC 1918
        "192.0.0.0/24",  # IETF protocol assignments
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "192.168.0.0/16",  # RFC 1918
        "198.18.0.0/15",  # benchmarking
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, includes the broadcast address 255.255.255.255
        "::/8",  # unspecified, loopback, IPv4-compatible/-translated and other reserved forms
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments (Teredo, benchmarking, ORCHID)
        "fc00::/7",  # unique local, includes the AWS metadata address fd00:ec2::254
        "fe80::/10",  # link-local
        "fec0::/10",  # deprecated site-local
        "ff00::/8",  # multicast
    )
)

NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")


class BlockedTarget(Exception):
    """We refused to connect to an address; the message says which and why."""


@functools.lru_cache(maxsize=65536)
def is_forbidden_address(ip: IPAddress) -> bool:
    """True when we must not connect to `ip` (safety rule 3); cached because every hop asks."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        return is_forbidden_address(embedded)
    if any(ip in net for net in DOCUMENTATION_NETWORKS):
        return False
    if any(ip in net for net in FORBIDDEN_NETWORKS):
        return True
    flags = (
        ip.is_private,
        ip.is_loopback,
        ip.is_link_local,
        ip.is_multicast,
        ip.is_unspecified,
        ip.is_reserved,
    )
    return any(flags)


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address reaches (IPv4-mapped, 6to4, NAT64), so it is judged as that one."""
    if ip.version == 4:
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def parse_connect_to(spec: str) -> list[ConnectTo]:
    """Parse `NETWORK=HOST:PORT[,…]` like curl's --connect-to; IPv6 in brackets: `[2001:db8::]/32=[::1]:8080`.

    Only IP literals are accepted on both sides, so the map can never introduce a DNS lookup. Raises
    ValueError naming the bad entry, because a typo here would silently send demo traffic elsewhere.
    """
    entries = []
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        network, sep, target = entry.partition("=")
        if not sep:
            raise ValueError(f"CHECKER_CONNECT_TO entry {entry!r}: expected NETWORK=HOST:PORT")
        try:
            entries.append((_parse_network(network.strip()), *parse_ip_port(target.strip())))
        except ValueError as exc:
            raise ValueError(f"CHECKER_CONNECT_TO entry {entry!r}: {exc}") from None
    return entries


def _parse_network(text: str) -> IPNetwork:
    """`198.51.100.0/24`, `203.0.113.5`, `[2001:db8::]/32` or `2001:db8::/32`."""
    if text.startswith("["):
        address, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith("/")):
            raise ValueError(f"bad network {text!r}")
        text = address + rest
    try:
        return ipaddress.ip_network(text)
    except ValueError as exc:
        raise ValueError(f"bad network {text!r} ({exc})") from None


def parse_ip_port(text: str, *, default_port: int | None = None) -> tuple[str, int]:
    """`IP:PORT` or `[IPv6]:PORT` → (ip, port); with `default_port`, a bare IPv4 or IPv6 address too.

    The host must be an IP address, never a name (that would need a DNS look-up first). An unbracketed IPv6
    address is taken whole ("::1:8080" is itself an address), so without a default port it is refused.
    Raises ValueError naming the text.
    """
    malformed = f"{text!r} must be IP:PORT (IPv6 as [addr]:PORT)"
    port: str | None = None
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(malformed)
        port = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host = text
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(malformed) from None
    if port is None:
        if default_port is None:
            raise ValueError(malformed)
        return host, default_port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} needs a port between 1 and 65535")
    return host, int(port)


@dataclass
class Guard:
    """The one place that decides whether an address may be contacted and where the socket really goes.

    `allow_private` is for tests and the demo only (CHECKER_ALLOW_PRIVATE_TARGETS). `connect_to` is applied
    after `check`, so a documentation address is validated as itself and only then sent to a local server.
    """

    allow_private: bool = False
    connect_to: Sequence[ConnectTo] = ()

    @classmethod
    def from_spec(cls, connect_to: str = "", *, allow_private: bool = False) -> "Guard":
        """Build from the raw setting strings; raises ValueError on a bad CHECKER_CONNECT_TO."""
        return cls(allow_private=allow_private, connect_to=parse_connect_to(connect_to))

    def check(self, ip: IPAddress) -> None:
        """Raise BlockedTarget unless `ip` may be contacted."""
        if not self.allow_private and is_forbidden_address(ip):
            raise BlockedTarget(f"{ip} is in a private/reserved range")

    def connect_address(self, ip: IPAddress, port: int) -> tuple[str, int]:
        """Where a socket for `ip:port` really goes: the first matching connect_to entry, else `ip:port`."""
        for network, host, mapped_port in self.connect_to:
            if ip in network:
                return host, mapped_port
        return str(ip), port
