"""Fast IP arithmetic for importers and the lookup index (the `ipaddress` module is ~10× slower per call).

Addresses are handled as (version, int) pairs; only text the database will read is produced again.
"""

from __future__ import annotations

import socket

BITS = {4: 32, 6: 128}
_FAMILY = {4: socket.AF_INET, 6: socket.AF_INET6}


def parse_ip(text: str) -> tuple[int, int]:
    """`text` → (version, integer). Strict: dotted quad for IPv4 (no `10.1` short forms). ValueError if
    bad."""
    version = 6 if ":" in text else 4
    try:
        return version, int.from_bytes(socket.inet_pton(_FAMILY[version], text), "big")
    except OSError:
        raise ValueError(f"not an IPv{version} address: {text!r}") from None


def ip_text(version: int, value: int) -> str:
    return socket.inet_ntop(_FAMILY[version], value.to_bytes(BITS[version] // 8, "big"))


def parse_cidr(text: str) -> tuple[int, int, int]:
    """`addr/len` → (version, network int, prefix length); ValueError on bad syntax or host bits set."""
    address, slash, length_text = text.partition("/")
    version, value = parse_ip(address.strip())
    bits = BITS[version]
    if not slash:
        return version, value, bits
    if not length_text.strip().isdigit() or not 0 <= int(length_text) <= bits:
        raise ValueError(f"bad prefix length in {text!r}")
    length = int(length_text)
    if value & ((1 << (bits - length)) - 1):
        raise ValueError(f"host bits set in {text!r}")
    return version, value, length


def range_to_cidrs(version: int, first: int, last: int) -> list[tuple[int, int]]:
    """The fewest CIDR blocks covering [first, last], as (network int, prefix length), in address order.

    Each block is the largest one aligned at its start that still fits (so every block is a maximal aligned
    block inside the range, which makes nested ranges' blocks nest too).
    """
    if first > last:
        raise ValueError("range ends before it starts")
    bits = BITS[version]
    blocks = []
    while first <= last:
        aligned = (first & -first).bit_length() - 1 if first else bits
        fits = (last - first + 1).bit_length() - 1
        size = min(aligned, fits)
        blocks.append((first, bits - size))
        first += 1 << size
    return blocks


def cidr_text(version: int, network: int, length: int) -> str:
    return f"{ip_text(version, network)}/{length}"
