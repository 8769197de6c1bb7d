"""Which addresses the checker may contact, and the CHECKER_CONNECT_TO map."""

import ipaddress

import pytest

from notices.infra.ssrf import BlockedTarget, Guard, is_forbidden_address, parse_connect_to

FORBIDDEN = [
    "127.0.0.1",  # loopback
    "127.255.255.254",
    "10.1.2.3",  # RFC 1918
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.1.1",  # link-local
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # CGNAT (Python's is_private says False here)
    "100.127.255.254",
    "0.0.0.0",  # noqa: S104 -- unspecified, listed to be refused
    "0.1.2.3",  # "this network"
    "198.18.0.1",  # benchmarking
    "198.19.255.255",
    "192.0.0.8",  # IETF protocol assignments
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",  # broadcast
    "::1",
    "::",
    "fc00::1",  # unique local
    "fd00:ec2::254",  # AWS metadata over IPv6
    "fe80::1",  # link-local
    "fe80::1%eth0",
    "fec0::1",  # deprecated site-local
    "ff02::1",  # multicast
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::7f00:1",  # IPv4-compatible (deprecated)
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::a00:1",  # local-use NAT64
    "2001::1",  # Teredo
    "100::1",  # discard-only
]

# Only reserved addresses appear in tests (PRODUCT.md safety rule 5): the documentation ranges stand in for
# "an ordinary internet address", including when embedded in IPv6 transition forms.
ALLOWED = [
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.255",
    "2001:db8::1",
    "2001:db8:ffff::1",
    "::ffff:192.0.2.1",  # IPv4-mapped documentation address
    "2002:c000:201::",  # 6to4 of 192.0.2.1
    "64:ff9b::c633:6407",  # NAT64 of 198.51.100.7
]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_is_forbidden_address_refuses_internal_ranges(address):
    assert is_forbidden_address(ipaddress.ip_address(address)) is True


@pytest.mark.parametrize("address", ALLOWED)
def test_is_forbidden_address_allows_documentation_ranges(address):
    assert is_forbidden_address(ipaddress.ip_address(address)) is False


def test_python_calls_documentation_ranges_private():
    # Why ssrf.py keeps its own table: the stdlib would have refused the demo and test addresses.
    assert [ipaddress.ip_address(a).is_private for a in ("192.0.2.1", "198.51.100.7", "2001:db8::1")] == [
        True
    ] * 3


def test_guard_check_raises_with_reason():
    with pytest.raises(BlockedTarget, match=r"^198\.18\.0\.1 is in a private/reserved range$"):
        Guard().check(ipaddress.ip_address("198.18.0.1"))


def test_guard_check_allows_private_when_configured():
    assert Guard(allow_private=True).check(ipaddress.ip_address("127.0.0.1")) is None


def test_guard_connect_address_applies_first_matching_entry():
    guard = Guard.from_spec("198.51.100.0/24=127.0.0.1:18080,198.51.100.7=127.0.0.1:18081")

    assert guard.connect_address(ipaddress.ip_address("198.51.100.7"), 80) == ("127.0.0.1", 18080)


def test_guard_connect_address_without_match_keeps_address():
    guard = Guard.from_spec("198.51.100.0/24=127.0.0.1:18080")

    assert guard.connect_address(ipaddress.ip_address("203.0.113.5"), 443) == ("203.0.113.5", 443)
    assert guard.connect_address(ipaddress.ip_address("2001:db8::1"), 443) == ("2001:db8::1", 443)


def test_guard_mapped_address_is_validated_before_mapping():
    guard = Guard.from_spec("203.0.113.0/24=127.0.0.1:18080")
    address = ipaddress.ip_address("203.0.113.5")

    guard.check(address)  # the documentation address passes; the loopback target is never checked

    assert guard.connect_address(address, 80) == ("127.0.0.1", 18080)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("", []),
        (
            "198.51.100.0/24=127.0.0.1:18080,203.0.113.5=127.0.0.1:18081",
            [
                (ipaddress.ip_network("198.51.100.0/24"), "127.0.0.1", 18080),
                (ipaddress.ip_network("203.0.113.5/32"), "127.0.0.1", 18081),
            ],
        ),
        ("[2001:db8::]/32=[::1]:18080", [(ipaddress.ip_network("2001:db8::/32"), "::1", 18080)]),
        ("[2001:db8::5]=[::1]:80", [(ipaddress.ip_network("2001:db8::5/128"), "::1", 80)]),
        ("2001:db8::/32=127.0.0.1:80", [(ipaddress.ip_network("2001:db8::/32"), "127.0.0.1", 80)]),
        (" 192.0.2.0/24 = 127.0.0.1:8080 , ", [(ipaddress.ip_network("192.0.2.0/24"), "127.0.0.1", 8080)]),
    ],
)
def test_parse_connect_to_accepts_good_spec(spec, expected):
    assert parse_connect_to(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("198.51.100.0/24", "expected NETWORK=HOST:PORT"),
        ("198.51.100.0/24=127.0.0.1", "must be IP:PORT"),
        ("198.51.100.0/24=127.0.0.1:0", "needs a port"),
        ("198.51.100.0/24=127.0.0.1:65536", "needs a port"),
        ("198.51.100.0/24=localhost:8080", "must be IP:PORT"),
        ("198.51.100.1/24=127.0.0.1:8080", "bad network"),
        ("site.example=127.0.0.1:8080", "bad network"),
        ("[2001:db8::/32=[::1]:8080", "bad network"),
        ("2001:db8::/32=::1:8080", "must be IP:PORT"),
        ("198.51.100.0/24=127.0.0.1:8080,junk", "'junk'"),
    ],
)
def test_parse_connect_to_rejects_bad_spec(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_connect_to(spec)
