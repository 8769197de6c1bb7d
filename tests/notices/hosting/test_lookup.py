"""The in-process lookup index gives, per address, the same provider, ASN and country as the trace."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from notices.hosting.lookup import IpAnswer, build_index
from notices.hosting.tracer import trace_url
from notices.models import HostingOverride, HostingProvider

from .conftest import dump, inetnum, organisation, role
from .test_trace_registry import LOWLAND

T0 = datetime(2026, 3, 1, tzinfo=UTC)
ADDRESSES = [
    "198.51.100.5",
    "198.51.100.20",
    "198.51.100.70",
    "198.51.100.130",
    "198.51.100.250",
    "192.0.2.10",
    "192.0.2.200",
    "203.0.113.7",
    "203.0.113.70",
    "2001:db8::5",
    "2001:db8:1::9",
]


@pytest.fixture
def world(write_file, import_data, make_provider, make_prefix, settings):
    """Imported RIPE, pyasn and delegated data, hand-entered prefixes, overrides and a CDN, all
    overlapping."""
    settings.HOSTING_INTERMEDIARIES = ["AS64510"]
    import_data(
        "ripe",
        write_file(
            "ripe.db",
            dump(
                *LOWLAND,
                inetnum("192.0.2.0 - 192.0.2.255", country="EU", org="ORG-EW1-TEST"),
                inetnum("192.0.2.0 - 192.0.2.127", country="BG"),
                organisation("ORG-EW1-TEST", "Euro Wide Ltd", country="GB"),
                inetnum("203.0.113.0 - 203.0.113.63", org="ORG-EC1-TEST", country="US"),
                organisation("ORG-EC1-TEST", "Edge CDN Inc.", abuse_c="EC1-TEST"),
                role("EC1-TEST", "abuse@edge.example"),
                inetnum("2001:db8::/32", country="DE", org="ORG-SX1-TEST", cls="inet6num"),
                organisation("ORG-SX1-TEST", "Sechs GmbH", country="DE"),
            ),
        ),
        as_of=T0,
    )
    import_data(
        "pyasn",
        write_file(
            "ipasn.dat",
            "198.51.100.0/24\t64500\n198.51.100.128/25\t64501\n203.0.113.0/24\t64510\n2001:db8::/32\t64520\n",
        ),
        as_of=T0,
    )
    import_data(
        "delegated",
        write_file(
            "delegated",
            "2|ripencc|1|2|19830705|20260301|+0100\nripencc|DE|ipv4|192.0.2.0|256|20100712|allocated\n",
        ),
        as_of=T0,
    )
    local = make_provider("local", country="AT", prefix=None)
    make_prefix("198.51.100.64/26", provider=local, country="AT")
    make_prefix("203.0.113.64/26", source="routing", asn=64530, country="FR")
    HostingOverride.objects.create(scope="prefix", prefix="198.51.100.240/28", provider=local, country="SI")
    HostingOverride.objects.create(scope="asn", asn=64520, country="LU")


def test_lookup_index_agrees_with_the_trace(dns_server, make_url, world, now):
    traces = {}
    for i, address in enumerate(ADDRESSES):
        dns_server.set_record(f"h{i}.example", "A" if ":" not in address else "AAAA", [address])
        traces[address] = trace_url(url=make_url(f"h{i}.example"), now=now)

    index = build_index()

    answers = {a: index.lookup(a) for a in ADDRESSES}
    expected = {
        a: IpAnswer(
            t.asn,
            t.provider_id,
            t.country,
            t.org_handle or (t.intermediary.org_handles[0] if t.intermediary else ""),
            t.origin_unknown,
        )
        for a, t in traces.items()
    }
    assert answers == expected


def test_lookup_index_answers_known_values(world):
    index = build_index()
    provider = {p.name: p.pk for p in HostingProvider.objects.all()}

    assert index.lookup("198.51.100.70") == IpAnswer(64500, provider["Local Hosting"], "AT", "", False)
    assert index.lookup("198.51.100.245") == IpAnswer(
        64501, provider["Local Hosting"], "SI", "ORG-LT1-TEST", False
    )
    assert index.lookup("192.0.2.200") == IpAnswer(None, None, "DE", "ORG-EW1-TEST", False)
    assert index.lookup("203.0.113.7") == IpAnswer(64510, None, "", "ORG-EC1-TEST", True)
    assert index.lookup("2001:db8::5") == IpAnswer(64520, None, "LU", "ORG-SX1-TEST", False)
    assert index.lookup("100.64.0.1") is None


def test_prefix_table_matches_a_brute_force_longest_prefix_match():
    import ipaddress
    import random

    from notices.hosting.lookup import PrefixTable

    rng = random.Random(7)
    table, networks = PrefixTable(), []
    for i in range(300):
        length = rng.choice([8, 12, 16, 20, 24, 28, 32])
        network = ipaddress.ip_network(
            f"240.{rng.randrange(4)}.{rng.randrange(256)}.{rng.randrange(256)}/{length}", strict=False
        )
        table[str(network)] = i
        networks.append((network, i))
    table["2001:db8::/32"] = "v6"
    table["2001:db8:1::/48"] = "v6-48"
    latest = {}
    for network, value in networks:
        latest[network] = value  # a prefix set twice answers its last value
    for _ in range(2000):
        ip = ipaddress.ip_address(f"240.{rng.randrange(4)}.{rng.randrange(256)}.{rng.randrange(256)}")
        matches = [n for n in latest if ip in n]
        expected = latest[max(matches, key=lambda n: n.prefixlen)] if matches else None
        assert table.get(str(ip)) == expected
    assert (table.get("2001:db8:1::5"), table.get("2001:db8:2::5"), table.get("2001:db9::1")) == (
        "v6-48",
        "v6",
        None,
    )


DERIVED_ADDRESSES = [
    "192.0.2.10",
    "192.0.2.150",
    "192.0.2.200",
    "203.0.113.5",
    "203.0.113.70",
    "203.0.113.130",
]


def test_lookup_index_agrees_with_the_trace_on_providers_derived_from_abuse_contacts(
    dns_server, make_url, write_file, import_data, make_prefix, now
):
    """Networks naming no organisation: an abuse-c role, a climb past a placeholder-only role, hand-entered
    prefixes with only an abuse address or only an org handle."""
    import_data(
        "ripe",
        write_file(
            "ripe.db",
            dump(
                inetnum("192.0.2.0 - 192.0.2.255", netname="LEGACY-NET", country="RO", abuse_c="LA1-TEST"),
                inetnum("192.0.2.128 - 192.0.2.191", netname="LEGACY-SUB", country="EU"),
                inetnum("192.0.2.192 - 192.0.2.223", netname="PLACEHOLDER", abuse_c="PL1-TEST"),
                role("LA1-TEST", "abuse@legacy.example", name="Legacy Abuse"),
                role("PL1-TEST", "abuse@ripe.net"),
            ),
        ),
        as_of=T0,
    )
    make_prefix("203.0.113.0/26", country="MT", abuse_emails=["abuse@island.example"])
    make_prefix("203.0.113.64/26", country="CY", org_handle="ORG-HE1-TEST", org_name="Hand Entered")
    make_prefix("203.0.113.128/26", country="EE", abuse_emails=["abuse@ripe.net"])
    traces = {}
    for i, address in enumerate(DERIVED_ADDRESSES):
        dns_server.set_record(f"d{i}.example", "A", [address])
        traces[address] = trace_url(url=make_url(f"d{i}.example"), now=now)

    index = build_index()

    answers = {a: index.lookup(a) for a in DERIVED_ADDRESSES}
    expected = {a: IpAnswer(t.asn, t.provider_id, t.country, t.org_handle, False) for a, t in traces.items()}
    assert answers == expected
    assert [traces[a].provider.name if traces[a].provider else None for a in DERIVED_ADDRESSES] == [
        "Legacy Abuse",
        "Legacy Abuse",
        "Legacy Abuse",
        "island.example",
        "Hand Entered",
        None,
    ]


def test_lookup_index_marks_the_addresses_whose_provider_the_trace_asks_rdap_for(
    dns_server, rdap_server, make_url, write_file, import_data, now
):
    """Where no registry network covers the address the trace takes provider and country from RDAP: the index
    says so, and still agrees on the ASN; where one does, it agrees on everything."""
    from .test_rdap import ripe_style_network

    import_data("ripe", write_file("ripe.db", dump(*LOWLAND)), as_of=T0)
    import_data("pyasn", write_file("ipasn.dat", "198.51.100.0/24\t64500\n192.0.2.0/24\t64510\n"), as_of=T0)
    rdap_server.set_json("/ip/192.0.2.80", ripe_style_network())
    traces = {}
    for i, address in enumerate(["192.0.2.80", "198.51.100.5"]):
        dns_server.set_record(f"r{i}.example", "A", [address])
        traces[address] = trace_url(url=make_url(f"r{i}.example"), now=now)

    index = build_index()

    rdap, registry = traces["192.0.2.80"], traces["198.51.100.5"]
    assert (rdap.provider.name, rdap.country) == ("Switch Example", "CH")
    assert index.lookup("192.0.2.80") == IpAnswer(64510, None, "", "", False, True)
    assert index.lookup("198.51.100.5") == IpAnswer(
        64500, registry.provider_id, registry.country, registry.org_handle, False, False
    )
    assert index.unknown == IpAnswer(None, None, "", "", False, True)
