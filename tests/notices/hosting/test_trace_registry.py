"""The trace over imported registry data: provider identity, LIR and origin AS, country precedence, hops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notices.hosting.tracer import trace_url
from notices.models import Event, HostingOverride, HostingProvider, RegistryImport

from .conftest import dump, inetnum, organisation, role, rpsl

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOST = "files.polder.example"

LOWLAND = [
    inetnum("198.51.100.0 - 198.51.100.255", netname="LOWLAND-ALLOC", country="NL", org="ORG-LT1-TEST",
            status="ALLOCATED PA", mnt_by=("RIPE-NCC-HM-MNT", "LOWLAND-MNT")),
    inetnum("198.51.100.0 - 198.51.100.63", netname="POLDER-NET", country="NL", org="ORG-PH1-TEST",
            mnt_by=("LOWLAND-MNT",)),
    inetnum("198.51.100.0 - 198.51.100.15", netname="CUSTOMER-NET", country="EU", abuse_c="CUST1-TEST",
            mnt_by=("LOWLAND-MNT",)),
    organisation("ORG-LT1-TEST", "Lowland Transit B.V.", abuse_c="LT1-TEST"),
    organisation("ORG-PH1-TEST", "Polder Hosting B.V.", abuse_c="PH1-TEST", org_type="OTHER"),
    role("LT1-TEST", "abuse@lowland.example"),
    role("PH1-TEST", "abuse@polder.example, noc@polder.example"),
    role("CUST1-TEST", "abuse@ripe.net"),
    rpsl("aut-num", "AS64500", "as-name:        LOWLAND-AS", "org:            ORG-LT1-TEST"),
]  # fmt: skip


@pytest.fixture
def lowland(write_file, import_data):
    """RIPE data for 198.51.100.0/24 (allocation → Polder's assignment → a customer) and its routing."""
    import_data("ripe", write_file("ripe.db", dump(*LOWLAND)), as_of=T0)
    import_data("pyasn", write_file("ipasn.dat", "198.51.100.0/24\t64500\n"), as_of=T0)


def test_trace_url_provider_is_the_org_of_the_most_specific_object_naming_one(
    dns_server, make_url, lowland, now
):
    dns_server.set_record(HOST, "A", ["198.51.100.5"])

    trace = trace_url(url=make_url(HOST), now=now)

    polder = HostingProvider.objects.get(org_handles__contains=["ORG-PH1-TEST"])
    assert (polder.slug, polder.name, polder.country, polder.org_handles) == (
        "org-ph1-test",
        "Polder Hosting B.V.",
        "NL",
        ["ORG-PH1-TEST"],
    )
    assert sorted(polder.contacts.values_list("email", flat=True)) == [
        "abuse@polder.example",
        "noc@polder.example",
    ]
    assert (trace.provider, trace.org_handle, trace.allocation_holder, trace.origin_as_org) == (
        polder,
        "ORG-PH1-TEST",
        "ORG-LT1-TEST",
        "ORG-LT1-TEST",
    )
    assert (trace.ip, trace.prefix, trace.asn, trace.country, trace.country_source, trace.error) == (
        "198.51.100.5",
        "198.51.100.0/26",
        64500,
        "NL",
        "registry",
        "",
    )
    assert trace.abuse_emails == ["abuse@polder.example", "noc@polder.example"]
    assert [(s["source"], s["query"]) for s in trace.sources] == [
        ("dns", HOST),
        ("pyasn", "198.51.100.0/24"),
        ("ripe-aut-num", "AS64500"),
        ("ripe-inetnum", "198.51.100.0 - 198.51.100.15"),
        ("ripe-inetnum", "198.51.100.0 - 198.51.100.63"),
        ("ripe-inetnum", "198.51.100.0 - 198.51.100.255"),
        ("ripe-role", "CUST1-TEST"),
        ("ripe-organisation", "ORG-PH1-TEST"),
        ("ripe-role", "PH1-TEST"),
    ]
    assert trace.sources[6]["answer"] == {
        "via": "abuse-c",
        "name": "Abuse-C Role",
        "abuse_mailboxes": [],
        "placeholders_skipped": ["abuse@ripe.net"],
    }


def test_trace_url_known_org_handle_maps_to_the_existing_provider(
    dns_server, make_url, lowland, make_provider, now
):
    polder = make_provider("polder", prefix=None, org_handles=["ORG-OLD1-TEST", "ORG-PH1-TEST"])
    dns_server.set_record(HOST, "A", ["198.51.100.5"])

    trace = trace_url(url=make_url(HOST), now=now)

    assert trace.provider == polder
    assert HostingProvider.objects.count() == 1


def test_trace_url_same_org_in_two_blocks_is_one_provider(dns_server, make_url, lowland, now):
    dns_server.set_record("a.polder.example", "A", ["198.51.100.20"])
    dns_server.set_record("b.polder.example", "A", ["198.51.100.40"])

    first = trace_url(url=make_url("a.polder.example"), now=now)
    second = trace_url(url=make_url("b.polder.example"), now=now)

    assert first.provider == second.provider
    assert HostingProvider.objects.filter(org_handles__contains=["ORG-PH1-TEST"]).count() == 1


# --- Country precedence -------------------------------------------------------------------------------------

COUNTRY_DUMP = [
    inetnum("192.0.2.0 - 192.0.2.255", netname="EU-WIDE", country="EU", org="ORG-EW1-TEST"),
    inetnum("192.0.2.0 - 192.0.2.127", netname="IN-BG", country="bg", org="ORG-EW1-TEST"),
    organisation("ORG-EW1-TEST", "Euro Wide Ltd", country="GB"),
]


@pytest.fixture
def country_data(write_file, import_data):
    import_data("ripe", write_file("ripe.db", dump(*COUNTRY_DUMP)), as_of=T0)
    import_data(
        "delegated",
        write_file(
            "delegated",
            "2|ripencc|1|2|19830705|20260301|+0100\nripencc|DE|ipv4|192.0.2.0|256|20100712|allocated\n",
        ),
        as_of=T0,
    )


@pytest.mark.parametrize(
    ("address", "country", "source"),
    [("192.0.2.10", "BG", "registry"), ("192.0.2.200", "DE", "delegated")],
)
def test_trace_url_country_registry_before_delegated_eu_means_unknown(
    dns_server, make_url, country_data, now, address, country, source
):
    dns_server.set_record(HOST, "A", [address])

    trace = trace_url(url=make_url(HOST), now=now)

    assert (trace.country, trace.country_source, trace.is_eu) == (country, source, True)


def test_trace_url_country_from_mmdb_when_registry_and_delegated_say_nothing(
    dns_server, make_url, write_file, import_data, tmp_path, now
):
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    import_data("ripe", write_file("ripe.db", dump(COUNTRY_DUMP[0], COUNTRY_DUMP[2])), as_of=T0)
    writer = MMDBWriter(ip_version=6, database_type="GeoLite2-Country", ipv4_compatible=True)
    writer.insert_network(IPSet(["192.0.2.0/24"]), {"country": {"iso_code": "FR"}})
    writer.to_db_file(str(tmp_path / "country.mmdb"))
    import_data("mmdb", str(tmp_path / "country.mmdb"))
    dns_server.set_record(HOST, "A", ["192.0.2.10"])

    trace = trace_url(url=make_url(HOST), now=now)

    assert (trace.country, trace.country_source) == ("FR", "mmdb")


def test_trace_url_country_from_the_provider_as_the_last_resort(
    dns_server, make_url, write_file, import_data, now
):
    import_data("ripe", write_file("ripe.db", dump(COUNTRY_DUMP[0], COUNTRY_DUMP[2])), as_of=T0)
    dns_server.set_record(HOST, "A", ["192.0.2.10"])

    trace = trace_url(url=make_url(HOST), now=now)

    assert (trace.provider.name, trace.country, trace.country_source) == ("Euro Wide Ltd", "GB", "provider")


def test_trace_url_override_country_wins(dns_server, make_url, country_data, now):
    dns_server.set_record(HOST, "A", ["192.0.2.10"])
    HostingOverride.objects.create(scope="host", host=HOST, country="AT")

    trace = trace_url(url=make_url(HOST), now=now)

    assert (trace.country, trace.country_source, trace.provider.name) == ("AT", "override", "Euro Wide Ltd")


# --- Overrides ----------------------------------------------------------------------------------------------


def test_trace_url_override_precedence_url_host_prefix_asn(dns_server, make_url, lowland, make_provider, now):
    by = {
        scope: make_provider(scope, country="DE", prefix=None) for scope in ("url", "host", "prefix", "asn")
    }
    dns_server.set_record(HOST, "A", ["198.51.100.5"])
    case = make_url(HOST)
    HostingOverride.objects.create(scope="asn", asn=64500, provider=by["asn"])
    answers = [trace_url(url=case, now=now).provider]
    HostingOverride.objects.create(scope="prefix", prefix="198.51.100.0/28", provider=by["prefix"])
    answers.append(trace_url(url=case, now=now).provider)
    HostingOverride.objects.create(scope="host", host=HOST, provider=by["host"])
    answers.append(trace_url(url=case, now=now).provider)
    HostingOverride.objects.create(scope="url", url=case, provider=by["url"])
    answers.append(trace_url(url=case, now=now).provider)

    assert answers == [by["asn"], by["prefix"], by["host"], by["url"]]


def test_trace_url_override_survives_a_reimport(
    dns_server, make_url, lowland, make_provider, write_file, import_data, now
):
    reseller = make_provider("reseller", country="DE", prefix=None)
    override = HostingOverride.objects.create(
        scope="host", host=HOST, provider=reseller, abuse_emails=["abuse@reseller.example"]
    )
    dns_server.set_record(HOST, "A", ["198.51.100.5"])

    import_data("ripe", write_file("newer.db", dump(*LOWLAND)), as_of=T0 + timedelta(days=1))
    trace = trace_url(url=make_url(HOST), now=now)

    assert RegistryImport.objects.get(dataset="ripe", status="active").data_time == T0 + timedelta(days=1)
    assert list(HostingOverride.objects.all()) == [override]
    assert (trace.provider, trace.override, trace.abuse_emails) == (
        reseller,
        override,
        ["abuse@reseller.example"],
    )
    assert trace.sources[-1] == {
        "source": "override",
        "query": "host",
        "answer": {
            "id": override.pk,
            "scope": "host",
            "provider": "reseller",
            "country": "",
            "abuse_emails": ["abuse@reseller.example"],
            "note": "",
        },
    }


# --- Hops ---------------------------------------------------------------------------------------------------


def test_trace_url_new_holder_after_reimport_is_a_hop(
    dns_server, make_url, lowland, write_file, import_data, now
):
    dns_server.set_record(HOST, "A", ["198.51.100.5"])
    case = make_url(HOST)
    first = trace_url(url=case, now=now)
    moved = [
        obj.replace("ORG-PH1-TEST", "ORG-NB1-TEST").replace("Polder Hosting B.V.", "New Block SRL")
        for obj in LOWLAND
    ]
    import_data("ripe", write_file("newer.db", dump(*moved)), as_of=T0 + timedelta(days=1))

    second = trace_url(url=case, now=now + timedelta(hours=1))

    assert (first.is_hop, second.is_hop, second.provider.name) == (False, True, "New Block SRL")
    assert Event.objects.get(kind="url.hopped").data == {"from_ip": "198.51.100.5", "to_ip": "198.51.100.5"}
    case.refresh_from_db()
    assert case.provider == second.provider
