"""RDAP for addresses outside the imported data, against a real local HTTP server serving RDAP JSON."""

from __future__ import annotations

import json

from notices.hosting.tracer import trace_url
from notices.models import HostingProvider

HOST = "files.switch.example"


def vcard(name: str, *emails: str) -> list:
    return [
        "vcard",
        [
            ["version", {}, "text", "4.0"],
            ["fn", {}, "text", name],
            ["kind", {}, "text", "group"],
            *[["email", {"type": "abuse"}, "text", e] for e in emails],
        ],
    ]


def ripe_style_network() -> dict:
    """Modelled on RIPE's RDAP answer: the abuse role nested, a maintainer listed as registrant too."""
    return {
        "objectClassName": "ip network", "handle": "192.0.2.0 - 192.0.2.255", "startAddress": "192.0.2.0",
        "endAddress": "192.0.2.255", "ipVersion": "v4", "name": "SWITCH-LAN", "type": "LEGACY",
        "country": "CH",
        "rdapConformance": ["rdap_level_0"], "port43": "whois.ripe.net",
        "entities": [
            {"objectClassName": "entity", "handle": "SWITCH-MNT", "roles": ["registrant"]},
            {"objectClassName": "entity", "handle": "ORG-SW1-TEST", "roles": ["registrant"],
             "vcardArray": vcard("Switch Example"),
             "entities": [{"objectClassName": "entity", "handle": "AR1-TEST", "roles": ["abuse"],
                           "vcardArray": vcard("Abuse-C Role", "abuse@switch.example")}]},
            {"objectClassName": "entity", "handle": "SNOC1-TEST", "roles": ["technical", "administrative"]},
        ],
    }  # fmt: skip


def apnic_style_network() -> dict:
    """Modelled on APNIC's answer: the abuse entity at the top level, cidr0 prefixes."""
    return {
        "objectClassName": "ip network", "handle": "198.51.100.0 - 198.51.100.255", "name": "LABS",
        "startAddress": "198.51.100.0", "endAddress": "198.51.100.255", "country": "AU",
        "cidr0_cidrs": [{"v4prefix": "198.51.100.0", "length": 24}],
        "entities": [{"objectClassName": "entity", "handle": "IRT-LABS-AU", "roles": ["abuse"],
                      "vcardArray": vcard("IRT-LABS-AU", "helpdesk@labs.example", "helpdesk@labs.example")}],
    }  # fmt: skip


def test_rdap_nested_abuse_entity_names_contact_and_provider(dns_server, rdap_server, make_url, now):
    rdap_server.set_json("/ip/192.0.2.80", ripe_style_network())
    dns_server.set_record(HOST, "A", ["192.0.2.80"])

    trace = trace_url(url=make_url(HOST), now=now)

    provider = HostingProvider.objects.get()
    assert (provider.slug, provider.name, provider.org_handles) == (
        "org-sw1-test",
        "Switch Example",
        ["ORG-SW1-TEST"],
    )
    assert (
        trace.provider,
        trace.country,
        trace.country_source,
        trace.abuse_emails,
        trace.prefix,
        trace.error,
    ) == (provider, "CH", "registry", ["abuse@switch.example"], "192.0.2.0 - 192.0.2.255", "")
    assert trace.sources[1] == {
        "source": "rdap",
        "query": "192.0.2.80",
        "answer": {
            "url": f"{rdap_server.base_url}ip/192.0.2.80",
            "handle": "192.0.2.0 - 192.0.2.255",
            "name": "SWITCH-LAN",
            "range": "192.0.2.0 - 192.0.2.255",
            "cidrs": [],
            "country": "CH",
            "org_handle": "ORG-SW1-TEST",
            "org_name": "Switch Example",
            "abuse_emails": ["abuse@switch.example"],
            "abuse_handle": "AR1-TEST",
            "abuse_name": "Abuse-C Role",
        },
    }


def test_rdap_abuse_entity_without_holder_makes_a_derived_provider(dns_server, rdap_server, make_url, now):
    rdap_server.set_json("/ip/198.51.100.1", apnic_style_network())
    dns_server.set_record(HOST, "A", ["198.51.100.1"])

    trace = trace_url(url=make_url(HOST), now=now)

    provider = HostingProvider.objects.get()
    assert (provider.slug, provider.name, provider.country, provider.org_handles) == (
        "derived-abuse-c-irt-labs-au",
        "IRT-LABS-AU",
        "AU",
        ["derived:abuse-c:IRT-LABS-AU"],
    )
    assert list(provider.contacts.values_list("email", flat=True)) == ["helpdesk@labs.example"]
    assert (trace.provider, trace.org_handle, trace.prefix, trace.country, trace.abuse_emails) == (
        provider,
        "",
        "198.51.100.0/24",
        "AU",
        ["helpdesk@labs.example"],
    )


def test_rdap_timeout_is_recorded_not_fatal(dns_server, rdap_server, make_url, now):
    rdap_server.set_json("/ip/192.0.2.80", ripe_style_network())
    rdap_server.delay = 1.5
    dns_server.set_record(HOST, "A", ["192.0.2.80"])

    trace = trace_url(url=make_url(HOST), now=now)

    assert (trace.provider, trace.error) == (None, "no registry data for this address")
    assert trace.sources[1] == {
        "source": "rdap",
        "query": "192.0.2.80",
        "answer": {"url": f"{rdap_server.base_url}ip/192.0.2.80", "error": "unreachable: timed out"},
    }


def test_rdap_http_error_is_recorded(dns_server, rdap_server, make_url, now):
    dns_server.set_record(HOST, "A", ["192.0.2.81"])

    trace = trace_url(url=make_url(HOST), now=now)

    assert trace.sources[1]["answer"] == {"url": f"{rdap_server.base_url}ip/192.0.2.81", "error": "HTTP 404"}


def test_rdap_redirect_to_another_server_is_refused(dns_server, rdap_server, make_url, now):
    rdap_server.redirect("/ip/192.0.2.80", "http://169.254.169.254/latest/meta-data/")
    dns_server.set_record(HOST, "A", ["192.0.2.80"])

    trace = trace_url(url=make_url(HOST), now=now)

    assert trace.sources[1]["answer"]["error"] == "refused: 169.254.169.254 is not a configured RDAP server"


def test_rdap_redirect_on_the_same_server_is_followed(dns_server, rdap_server, make_url, now):
    rdap_server.redirect("/ip/192.0.2.80", "/rdap/ip/192.0.2.80")
    rdap_server.set_json("/rdap/ip/192.0.2.80", ripe_style_network())
    dns_server.set_record(HOST, "A", ["192.0.2.80"])

    trace = trace_url(url=make_url(HOST), now=now)

    assert trace.abuse_emails == ["abuse@switch.example"]
    assert rdap_server.requests == ["/ip/192.0.2.80", "/rdap/ip/192.0.2.80"]


def test_rdap_bootstrap_file_picks_the_server(dns_server, rdap_server, make_url, settings, tmp_path, now):
    bootstrap = {
        "version": "1.0",
        "services": [
            [["198.51.100.0/24"], [f"{rdap_server.base_url}apnic/"]],
            [["192.0.2.0/24"], [f"{rdap_server.base_url}ripe/"]],
        ],
    }
    (tmp_path / "ipv4.json").write_text(json.dumps(bootstrap))
    settings.RDAP_BASE_URL, settings.RDAP_BOOTSTRAP_FILE = "", str(tmp_path / "ipv4.json")
    rdap_server.set_json("/ripe/ip/192.0.2.80", ripe_style_network())
    dns_server.set_record(HOST, "A", ["192.0.2.80"])

    trace = trace_url(url=make_url(HOST), now=now)

    assert (trace.country, rdap_server.requests) == ("CH", ["/ripe/ip/192.0.2.80"])


def test_rdap_not_asked_when_imported_data_knows_the_network(
    dns_server, rdap_server, make_url, provider, now
):
    dns_server.set_record(HOST, "A", ["198.51.100.10"])

    trace = trace_url(url=make_url(HOST), now=now)

    assert (trace.provider, rdap_server.requests) == (provider, [])
