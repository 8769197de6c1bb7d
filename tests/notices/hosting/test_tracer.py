"""The hosting trace against a real DNS server: A/AAAA/CNAME, failures, longest-prefix match, overrides,
hops."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notices.hosting.dns import Resolution, resolve_host
from notices.hosting.tracer import trace_url
from notices.infra.resolver import make_resolver
from notices.infra.resolver import parse_nameserver as parse_resolver
from notices.models import Event, HostingOverride, HostingProvider, HostingTrace, RoutingPrefix, Url

HOST = "files.polder.example"


def dns_entry(host: str, ips=(), cnames=(), error="") -> dict:
    return {
        "source": "dns",
        "query": host,
        "answer": {"ips": list(ips), "cnames": list(cnames), "error": error},
    }


def trace_answer(trace: HostingTrace) -> tuple:
    return (trace.ip, trace.prefix, trace.asn, trace.provider, trace.country, trace.error)


# --- DNS --------------------------------------------------------------------------------------------------


def test_resolve_host_returns_a_then_aaaa(dns_server):
    dns_server.set_record(HOST, "A", ["198.51.100.10", "198.51.100.11"])
    dns_server.set_record(HOST, "AAAA", ["2001:db8::10"])

    assert resolve_host(HOST) == Resolution(ips=["198.51.100.10", "198.51.100.11", "2001:db8::10"])


def test_resolve_host_ipv6_only(dns_server):
    dns_server.set_record("v6.polder.example", "AAAA", ["2001:db8::10"])

    assert resolve_host("v6.polder.example") == Resolution(ips=["2001:db8::10"])


def test_resolve_host_records_the_cname_chain(dns_server):
    dns_server.set_record("www.shop.example", "CNAME", "edge.cdn.example")
    dns_server.set_record("edge.cdn.example", "CNAME", "origin.polder.example")
    dns_server.set_record("origin.polder.example", "A", ["198.51.100.10"])
    dns_server.set_record("origin.polder.example", "AAAA", ["2001:db8::10"])

    assert resolve_host("www.shop.example") == Resolution(
        ips=["198.51.100.10", "2001:db8::10"], cnames=["edge.cdn.example", "origin.polder.example"]
    )


def test_resolve_host_nxdomain(dns_server):
    assert resolve_host("gone.polder.example") == Resolution(error="nxdomain")


def test_resolve_host_servfail(dns_server):
    dns_server.set_record(HOST, "A", ["198.51.100.10"])
    dns_server.servfail.add(HOST)

    assert resolve_host(HOST) == Resolution(error="servfail")


def test_resolve_host_ip_literal_skips_dns(settings):
    settings.DNS_RESOLVER = "not-a-resolver"  # building a resolver would raise: none is built

    assert resolve_host("198.51.100.7") == Resolution(ips=["198.51.100.7"])
    assert resolve_host("[2001:DB8::7]") == Resolution(ips=["2001:db8::7"])


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        (" 192.0.2.53:53 ", ("192.0.2.53", 53)),
        ("[::1]:5353", ("::1", 5353)),
        ("[2001:db8::53]", ("2001:db8::53", 53)),
        ("::1", ("::1", 53)),
    ],
)
def test_parse_resolver_accepts_documented_formats(spec, expected):
    assert parse_resolver(spec) == expected


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "resolver.example",
        "resolver.example:53",
        "127.0.0.1:dns",
        "127.0.0.1:",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "[::1]:x",
        "[resolver.example]:53",
        "127.0.0.1:53:53",
    ],
)
def test_parse_resolver_bad_spec_raises_value_error(spec):
    with pytest.raises(ValueError):
        parse_resolver(spec)


def test_make_resolver_uses_the_dns_resolver_setting(settings):
    settings.DNS_RESOLVER = "[::1]:5353"
    settings.DNS_TIMEOUT = 3

    resolver = make_resolver()

    assert ([str(ns) for ns in resolver.nameservers], resolver.port, resolver.lifetime) == (["::1"], 5353, 3)


# --- trace_url --------------------------------------------------------------------------------------------


def test_trace_url_records_answer_sources_and_makes_it_current(dns_server, make_url, provider, now):
    dns_server.set_record(HOST, "A", ["198.51.100.10"])
    case = make_url(HOST)

    trace = trace_url(url=case, now=now)

    assert (trace.url_id, trace.traced_at, trace.host, trace.ips, trace.cnames, trace.is_hop) == (
        case.pk,
        now,
        HOST,
        ["198.51.100.10"],
        [],
        False,
    )
    assert trace_answer(trace) == ("198.51.100.10", "198.51.100.0/25", 64500, provider, "NL", "")
    assert trace.abuse_emails == ["abuse@polder.example"]
    assert trace.sources == [
        dns_entry(HOST, ["198.51.100.10"]),
        {
            "source": "registry",
            "query": "198.51.100.0/25",
            "answer": {
                "asn": 64500,
                "org_handle": "",
                "org_name": "Polder Hosting",
                "country": "NL",
                "provider": "polder",
                "abuse_emails": [],
            },
        },
    ]
    case.refresh_from_db()
    assert (case.current_trace_id, case.traced_at, case.provider_id) == (trace.pk, now, provider.pk)
    event = Event.objects.get(kind="url.traced")
    assert (event.url_id, event.at, event.data) == (
        case.pk,
        now,
        {"ip": "198.51.100.10", "provider": provider.pk, "error": ""},
    )


def test_trace_url_through_cname_keeps_the_chain(dns_server, make_url, provider, now):
    dns_server.set_record("www.shop.example", "CNAME", HOST)
    dns_server.set_record(HOST, "A", ["198.51.100.10"])
    case = make_url("www.shop.example")

    trace = trace_url(url=case, now=now)

    assert (trace.host, trace.cnames, trace.ips, trace.provider) == (
        "www.shop.example",
        [HOST],
        ["198.51.100.10"],
        provider,
    )
    assert trace.sources[0] == dns_entry("www.shop.example", ["198.51.100.10"], [HOST])


def test_trace_url_nxdomain_records_the_error_without_provider(dns_server, make_url, provider, now):
    case = make_url("gone.polder.example")

    trace = trace_url(url=case, now=now)

    assert trace_answer(trace) == (None, "", None, None, "", "nxdomain")
    assert (trace.ips, trace.cnames, trace.abuse_emails, trace.is_hop) == ([], [], [], False)
    assert trace.sources == [dns_entry("gone.polder.example", error="nxdomain")]
    case.refresh_from_db()
    assert (case.current_trace_id, case.provider_id) == (trace.pk, None)
    assert Event.objects.get(kind="url.traced").data == {"ip": None, "provider": None, "error": "nxdomain"}


def test_trace_url_failed_lookup_keeps_the_known_provider(dns_server, make_case, provider, now):
    case = make_case(provider=provider, when=now)  # traced before, to `provider`
    dns_server.set_record(HOST, "A", ["198.51.100.10"])
    dns_server.servfail.add(HOST)

    trace = trace_url(url=case, now=now + timedelta(hours=1))

    assert trace_answer(trace) == (None, "", None, None, "", "servfail")
    case.refresh_from_db()
    assert (case.current_trace_id, case.provider_id) == (trace.pk, provider.pk)


def test_trace_url_address_without_registry_data(dns_server, make_url, provider, now):
    dns_server.set_record(HOST, "A", ["192.0.2.55"])
    case = make_url(HOST)

    trace = trace_url(url=case, now=now)

    assert trace_answer(trace) == ("192.0.2.55", "", None, None, "", "no registry data for this address")
    assert trace.sources == [dns_entry(HOST, ["192.0.2.55"])]


def test_trace_url_most_specific_prefix_names_provider_and_country(
    dns_server, make_url, make_prefix, make_provider, now
):
    roemer = make_provider("roemer", country="RO", prefix=None)
    make_prefix("203.0.113.0/24", source="routing", asn=64510, org_name="Transit AS")
    make_prefix("203.0.113.0/26", provider=roemer, country="RO", org_name="Roemer Hosting")
    dns_server.set_record(HOST, "A", ["203.0.113.10"])

    trace = trace_url(url=make_url(HOST), now=now)

    # The /26 names provider and country; it has no ASN, so the ASN comes from the /24.
    assert trace_answer(trace) == ("203.0.113.10", "203.0.113.0/26", 64510, roemer, "RO", "")
    assert [(s["source"], s["query"]) for s in trace.sources] == [
        ("dns", HOST),
        ("registry", "203.0.113.0/26"),
        ("routing", "203.0.113.0/24"),
    ]


def test_trace_url_asn_from_the_most_specific_prefix_that_has_one(
    dns_server, make_url, make_prefix, make_provider, now
):
    roemer = make_provider("roemer", country="RO", prefix=None)
    balkan = make_provider("balkan", country="BG", prefix=None)
    make_prefix("203.0.113.0/24", source="routing", asn=64510)
    make_prefix("203.0.113.0/25", provider=balkan, country="BG", asn=64511)
    make_prefix("203.0.113.0/26", provider=roemer, country="RO")
    dns_server.set_record("in26.example", "A", ["203.0.113.10"])
    dns_server.set_record("in25.example", "A", ["203.0.113.100"])
    dns_server.set_record("in24.example", "A", ["203.0.113.200"])

    answers = [
        trace_answer(trace_url(url=make_url(host), now=now))
        for host in ("in26.example", "in25.example", "in24.example")
    ]

    assert answers == [
        ("203.0.113.10", "203.0.113.0/26", 64511, roemer, "RO", ""),
        ("203.0.113.100", "203.0.113.0/25", 64511, balkan, "BG", ""),
        ("203.0.113.200", "203.0.113.0/24", 64510, None, "", ""),
    ]


def test_trace_url_override_beats_a_more_specific_registry_prefix(
    dns_server, make_url, make_prefix, make_provider, now
):
    roemer = make_provider("roemer", country="RO", prefix=None)
    reseller = make_provider("reseller", country="DE", prefix=None)
    make_prefix("203.0.113.0/26", provider=roemer, country="RO", asn=64512)
    # Overrides are HostingOverride rows now (were RoutingPrefix rows with source "override").
    HostingOverride.objects.create(scope="prefix", prefix="203.0.113.0/24", provider=reseller, country="DE")
    dns_server.set_record(HOST, "A", ["203.0.113.10"])

    trace = trace_url(url=make_url(HOST), now=now)

    assert trace_answer(trace) == ("203.0.113.10", "203.0.113.0/24", 64512, reseller, "DE", "")


def test_trace_url_override_without_country_keeps_the_registry_country(
    dns_server, make_url, make_prefix, make_provider, now
):
    roemer = make_provider("roemer", country="RO", prefix=None)
    reseller = make_provider("reseller", country="DE", prefix=None)
    make_prefix("203.0.113.0/26", provider=roemer, country="RO")
    HostingOverride.objects.create(scope="prefix", prefix="203.0.113.0/24", provider=reseller)
    dns_server.set_record(HOST, "A", ["203.0.113.10"])

    trace = trace_url(url=make_url(HOST), now=now)

    assert (trace.provider, trace.country) == (reseller, "RO")


def test_trace_url_abuse_addresses_from_the_registry_object(
    dns_server, make_url, make_prefix, make_provider, now
):
    roemer = make_provider("roemer", country="RO", prefix=None)
    make_prefix("203.0.113.0/26", provider=roemer, country="RO", abuse_emails=["abuse-c@roemer.example"])
    dns_server.set_record(HOST, "A", ["203.0.113.10"])

    trace = trace_url(url=make_url(HOST), now=now)

    assert trace.abuse_emails == ["abuse-c@roemer.example"]


def test_trace_url_new_address_and_provider_is_a_hop(dns_server, make_url, provider, other_provider, now):
    dns_server.set_record(HOST, "A", ["198.51.100.10"])
    case = make_url(HOST)
    first = trace_url(url=case, now=now)
    dns_server.set_record(HOST, "A", ["198.51.100.200"])  # other_provider's half of the /24

    second = trace_url(url=case, now=now + timedelta(hours=1))

    assert (first.is_hop, second.is_hop) == (False, True)
    assert (second.provider, second.country) == (other_provider, "BG")
    case.refresh_from_db()
    assert (case.current_trace_id, case.provider_id) == (second.pk, other_provider.pk)
    event = Event.objects.get(kind="url.hopped")
    assert (event.url_id, event.at, event.data) == (
        case.pk,
        now + timedelta(hours=1),
        {"from_ip": "198.51.100.10", "to_ip": "198.51.100.200"},
    )


def test_trace_url_new_address_at_the_same_provider_is_a_hop(dns_server, make_url, provider, now):
    dns_server.set_record(HOST, "A", ["198.51.100.10"])
    case = make_url(HOST)
    trace_url(url=case, now=now)
    dns_server.set_record(HOST, "A", ["198.51.100.11"])

    second = trace_url(url=case, now=now + timedelta(hours=1))

    assert (second.is_hop, second.provider) == (True, provider)
    assert Event.objects.get(kind="url.hopped").data == {"from_ip": "198.51.100.10", "to_ip": "198.51.100.11"}


def test_trace_url_same_answer_is_not_a_hop(dns_server, make_url, provider, now):
    dns_server.set_record(HOST, "A", ["198.51.100.10"])
    case = make_url(HOST)
    trace_url(url=case, now=now)

    second = trace_url(url=case, now=now + timedelta(hours=1))

    assert second.is_hop is False
    assert Event.objects.filter(kind="url.hopped").count() == 0
    assert HostingTrace.objects.filter(url=case).count() == 2


def test_trace_url_same_address_and_provider_in_another_country_is_a_hop(dns_server, make_url, provider, now):
    dns_server.set_record(HOST, "A", ["198.51.100.10"])
    case = make_url(HOST)
    first = trace_url(url=case, now=now)
    RoutingPrefix.objects.filter(provider=provider).update(country="DE")  # the network re-registered in DE

    second = trace_url(url=case, now=now + timedelta(hours=1))

    assert (first.country, second.country, second.provider, second.ip) == ("NL", "DE", provider, first.ip)
    assert second.is_hop is True
    RoutingPrefix.objects.filter(provider=provider).update(country="")
    HostingProvider.objects.filter(pk=provider.pk).update(country="")
    third = trace_url(url=case, now=now + timedelta(hours=2))  # no country known: proves no move
    assert (third.country, third.is_hop) == ("", False)


def test_trace_url_ip_literal_host_skips_dns(make_url, provider, settings, now):
    settings.DNS_RESOLVER = "not-a-resolver"  # building a resolver would raise: none is built
    case = make_url("198.51.100.10")

    trace = trace_url(url=case, now=now)

    assert (trace.host, trace.ips) == ("198.51.100.10", ["198.51.100.10"])
    assert trace_answer(trace) == ("198.51.100.10", "198.51.100.0/25", 64500, provider, "NL", "")
    assert trace.sources[0] == dns_entry("198.51.100.10", ["198.51.100.10"])


def test_trace_url_ipv6_literal_host_skips_dns(make_url, make_prefix, make_provider, settings, now):
    settings.DNS_RESOLVER = "not-a-resolver"
    sechs = make_provider("sechs", country="DE", prefix=None)
    make_prefix("2001:db8::/32", source="routing", asn=64520)
    make_prefix("2001:db8:1::/48", provider=sechs, country="DE")
    case = make_url("[2001:db8:1::10]")

    trace = trace_url(url=case, now=now)

    assert trace.ips == ["2001:db8:1::10"]
    assert trace_answer(trace) == ("2001:db8:1::10", "2001:db8:1::/48", 64520, sechs, "DE", "")
    assert Url.objects.get(pk=case.pk).provider_id == sechs.pk
