"""Providers the trace makes from registry data: their country (the EU question) and providers derived from an
abuse contact when the registry names no organisation — through to a notice queued for them."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest
from django.apps import apps

from notices.hosting.providers import is_derived
from notices.hosting.tracer import trace_url
from notices.models import HostingProvider, HostingTrace, OutgoingMessage
from notices.services.assessment import assess_url
from notices.services.notices import create_notices, queue_notice

from .conftest import dump, inetnum, organisation, role

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOST = "files.lowland.example"
ADDRESS = "192.0.2.10"
DELEGATED_DE = "2|ripencc|1|2|19830705|20260301|+0100\nripencc|DE|ipv4|192.0.2.0|256|20100712|allocated\n"


# --- The provider's country: the org's, else its network's, else where the trace locates the address --------

# (organisation's country or None for no organisation object, the named network's country,
#  the more specific customer network's country or None for none, delegated data?) → provider's country
COUNTRY_CASES = [
    ("BG", "NL", None, False, "BG"),  # the organisation says it
    ("EU", "NL", None, False, "NL"),  # the organisation says "EU": its network's country
    ("", "RO", None, False, "RO"),  # the organisation has no country
    (None, "AT", None, False, "AT"),  # the organisation object is not in the imported data
    ("EU", "EU", "SI", False, "SI"),  # neither: the most specific object's country
    ("EU", "EU", None, True, "DE"),  # nothing in the registry: RIR delegated stats
    ("ZZ", "eu", "EU", False, ""),  # nothing anywhere: unknown (never "EU")
]


@pytest.fixture
def registry(write_file, import_data):
    def _load(org_country, net_country, customer_country, delegated):
        objects = [
            inetnum("192.0.2.0 - 192.0.2.127", country=net_country, org="ORG-LH1-TEST", abuse_c="LH1-TEST"),
            role("LH1-TEST", "abuse@lowland.example"),
        ]
        if org_country is not None:
            objects.append(
                organisation("ORG-LH1-TEST", "Lowland Hosting", country=org_country, org_type="OTHER")
            )
        if customer_country is not None:
            objects.append(inetnum("192.0.2.0 - 192.0.2.15", country=customer_country, netname="CUSTOMER"))
        import_data("ripe", write_file("ripe.db", dump(*objects)), as_of=T0)
        if delegated:
            import_data("delegated", write_file("delegated", DELEGATED_DE), as_of=T0)

    return _load


@pytest.mark.parametrize(
    ("org_country", "net_country", "customer_country", "delegated", "expected"), COUNTRY_CASES
)
def test_trace_url_new_provider_takes_the_country_of_its_registry_data(
    dns_server, make_url, registry, now, org_country, net_country, customer_country, delegated, expected
):
    registry(org_country, net_country, customer_country, delegated)
    dns_server.set_record(HOST, "A", [ADDRESS])

    trace = trace_url(url=make_url(HOST), now=now)

    provider = HostingProvider.objects.get(org_handles=["ORG-LH1-TEST"])
    assert (trace.provider, provider.country, provider.is_eu) == (
        provider,
        expected,
        expected not in ("", "GB"),
    )


def test_trace_url_provider_without_country_learns_it_from_a_later_trace(
    dns_server, make_url, make_provider, registry, now
):
    known = make_provider("lowland", country="", prefix=None, org_handles=["ORG-LH1-TEST"])
    keeps = make_provider("keeps", country="FR", prefix=None, org_handles=["ORG-KP1-TEST"])
    registry("EU", "NL", None, False)
    dns_server.set_record(HOST, "A", [ADDRESS])

    trace = trace_url(url=make_url(HOST), now=now)

    known.refresh_from_db()
    assert (trace.provider, known.country, known.is_eu) == (known, "NL", True)
    keeps.refresh_from_db()
    assert keeps.country == "FR"


def test_trace_url_provider_keeps_the_country_it_has(dns_server, make_url, make_provider, registry, now):
    known = make_provider("lowland", country="GB", prefix=None, org_handles=["ORG-LH1-TEST"])
    registry("EU", "NL", None, False)
    dns_server.set_record(HOST, "A", [ADDRESS])

    trace = trace_url(url=make_url(HOST), now=now)

    known.refresh_from_db()
    assert (known.country, trace.country, trace.country_source) == ("GB", "NL", "registry")


def test_trace_url_hand_entered_network_gives_its_new_provider_its_country(
    dns_server, make_url, make_prefix, now
):
    make_prefix("203.0.113.0/26", org_handle="ORG-HE1-TEST", org_name="Hand Entered", country="LU")
    dns_server.set_record(HOST, "A", ["203.0.113.5"])

    trace = trace_url(url=make_url(HOST), now=now)

    assert (trace.provider.name, trace.provider.country, trace.provider.is_eu) == ("Hand Entered", "LU", True)


# --- Migration 0019: providers made before, from the data already in the database --------------------------


def test_migration_fills_empty_provider_countries_from_stored_data(
    write_file, import_data, make_provider, make_url, now
):
    objects = [
        organisation("ORG-OC1-TEST", "Org Country", country="PL"),
        organisation("ORG-EU1-TEST", "Org Says EU", country="EU"),
        inetnum("192.0.2.0 - 192.0.2.255", country="EU", org="ORG-EU1-TEST"),
        inetnum("192.0.2.0 - 192.0.2.63", country="CZ", org="ORG-EU1-TEST"),
        inetnum("198.51.100.0 - 198.51.100.255", country="EU", org="ORG-NO1-TEST"),
    ]
    import_data("ripe", write_file("ripe.db", dump(*objects)), as_of=T0)
    make_provider("by-org", country="", prefix=None, org_handles=["ORG-OC1-TEST"])
    make_provider("by-inetnum", country="", prefix=None, org_handles=["ORG-EU1-TEST"])
    by_trace = make_provider("by-trace", country="", prefix=None, org_handles=["ORG-NO1-TEST"])
    override_only = make_provider("override-only", country="", prefix=None, org_handles=["ORG-OV1-TEST"])
    make_provider("has-one", country="FR", prefix=None, org_handles=["ORG-OC1-TEST"])
    for provider, country, source in [
        (by_trace, "EU", "registry"),
        (by_trace, "HR", "delegated"),
        (override_only, "AT", "override"),
    ]:
        case = make_url(f"{provider.slug}.example")
        HostingTrace.objects.create(
            url=case, traced_at=now, host=case.host, provider=provider, country=country, country_source=source
        )
    migration = importlib.import_module("notices.migrations.0019_registry_provider_country")

    migration.fill_provider_countries(apps, None)

    countries = dict(HostingProvider.objects.values_list("slug", "country"))
    assert countries == {
        "by-org": "PL",
        "by-inetnum": "CZ",
        "by-trace": "HR",
        "override-only": "",
        "has-one": "FR",
    }


# --- Derived providers: an abuse contact but no organisation ------------------------------------------------

NO_ORG = [
    inetnum("192.0.2.0 - 192.0.2.255", netname="LEGACY-NET", country="RO", abuse_c="LA1-TEST",
            status="LEGACY", mnt_by=("LEGACY-MNT",)),
    inetnum("192.0.2.128 - 192.0.2.191", netname="LEGACY-SUB", country="EU", status="LEGACY",
            mnt_by=("LEGACY-MNT",)),
    role("LA1-TEST", "abuse@legacy.example", name="Legacy Networks Abuse"),
]  # fmt: skip


@pytest.fixture
def no_org(write_file, import_data):
    import_data("ripe", write_file("ripe.db", dump(*NO_ORG)), as_of=T0)


def test_trace_url_abuse_contact_without_org_makes_a_derived_provider(dns_server, make_url, no_org, now):
    dns_server.set_record(HOST, "A", ["192.0.2.10"])
    dns_server.set_record("b.legacy.example", "A", ["192.0.2.150"])

    first = trace_url(url=make_url(HOST), now=now)
    second = trace_url(url=make_url("b.legacy.example"), now=now)

    provider = HostingProvider.objects.get()
    assert (provider.slug, provider.name, provider.country, provider.org_handles, is_derived(provider)) == (
        "derived-abuse-c-la1-test",
        "Legacy Networks Abuse",
        "RO",
        ["derived:abuse-c:LA1-TEST"],
        True,
    )
    assert list(provider.contacts.values_list("email", "is_abuse")) == [("abuse@legacy.example", True)]
    assert "the registry names no organisation" in provider.contacts.get().name
    assert (first.provider, first.org_handle, first.prefix, first.country, first.abuse_emails) == (
        provider,
        "",
        "192.0.2.0/24",
        "RO",
        ["abuse@legacy.example"],
    )
    assert (second.provider, second.prefix, second.country, second.abuse_emails) == (
        provider,
        "192.0.2.0/24",
        "RO",
        ["abuse@legacy.example"],
    )
    assert first.sources[-1] == {
        "source": "derived-provider",
        "query": "abuse-c:LA1-TEST",
        "answer": {
            "provider": provider.slug,
            "network": "192.0.2.0/24",
            "abuse_emails": ["abuse@legacy.example"],
            "why": "the registry names no organisation for this network",
        },
    }


def test_trace_url_no_abuse_contact_and_no_org_makes_no_provider(
    dns_server, make_url, write_file, import_data, now
):
    import_data("ripe", write_file("ripe.db", dump(NO_ORG[1])), as_of=T0)
    dns_server.set_record(HOST, "A", ["192.0.2.150"])

    trace = trace_url(url=make_url(HOST), now=now)

    assert (trace.provider, trace.abuse_emails, HostingProvider.objects.count()) == (None, [], 0)


def test_trace_url_placeholder_abuse_contact_makes_no_derived_provider(
    dns_server, make_url, write_file, import_data, now
):
    objects = [inetnum("192.0.2.0 - 192.0.2.255", abuse_c="PL1-TEST"), role("PL1-TEST", "abuse@ripe.net")]
    import_data("ripe", write_file("ripe.db", dump(*objects)), as_of=T0)
    dns_server.set_record(HOST, "A", ["192.0.2.10"])

    trace = trace_url(url=make_url(HOST), now=now)

    assert (trace.provider, trace.abuse_emails, HostingProvider.objects.count()) == (None, [], 0)


def test_trace_url_hand_entered_contact_without_provider_derives_one_from_the_address(
    dns_server, make_url, make_prefix, now
):
    make_prefix("203.0.113.0/26", country="MT", abuse_emails=["abuse@island.example"])
    dns_server.set_record(HOST, "A", ["203.0.113.5"])

    trace = trace_url(url=make_url(HOST), now=now)

    assert (trace.provider.name, trace.provider.country, trace.provider.org_handles, trace.abuse_emails) == (
        "island.example",
        "MT",
        ["derived:abuse-mailbox:abuse@island.example"],
        ["abuse@island.example"],
    )


def test_derived_provider_merged_into_the_real_one_is_found_by_later_traces(
    dns_server, make_url, make_provider, no_org, now
):
    from notices.hosting.providers import merge_providers

    dns_server.set_record(HOST, "A", ["192.0.2.10"])
    derived = trace_url(url=make_url(HOST), now=now).provider
    real = make_provider("legacy", country="RO", prefix=None, org_handles=["ORG-LG1-TEST"])
    merge_providers(target=real, others=[derived], actor="analyst")
    dns_server.set_record("b.legacy.example", "A", ["192.0.2.20"])

    trace = trace_url(url=make_url("b.legacy.example"), now=now)

    assert (trace.provider, HostingProvider.objects.count()) == (real, 1)


def test_notice_to_a_derived_provider_is_created_and_queued(dns_server, make_url, no_org, analyst, now):
    """End to end: trace → assessed case → notice created for the derived provider → queued in the outbox."""
    dns_server.set_record(HOST, "A", ["192.0.2.10"])
    case = make_url(HOST)
    assess_url(url=case, analyst=analyst, legality="illegal_international", classification="A1", now=now)
    trace_url(url=case, now=now)
    case.refresh_from_db()

    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=now, created_by=analyst)
    notice = queue_notice(notice=notice, now=now)

    assert (notice.provider, notice.status, is_derived(notice.provider)) == (case.provider, "queued", True)
    message = OutgoingMessage.objects.get(notice=notice)
    assert message.recipients == ["abuse@legacy.example"]
