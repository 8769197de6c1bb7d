"""The demo DNS server, queried with dnspython over real UDP and TCP sockets."""

import signal
import subprocess
import sys

import dns.message
import dns.query
import dns.rcode
import dns.resolver
import pytest

from notices.demo.dns import DemoDnsServer

ZONE = {
    "site.example": {"A": ["192.0.2.10", "192.0.2.11"], "AAAA": ["2001:db8::10"]},
    "www.site.example.": {"CNAME": "cdn.site.example"},
    "cdn.site.example": {"CNAME": "edge.site.example."},
    "edge.site.example": {"A": ["198.51.100.7"]},
    "dangling.example": {"CNAME": "missing.example"},
}


@pytest.fixture
def server():
    dns_server = DemoDnsServer(ZONE)
    dns_server.start()
    yield dns_server
    dns_server.stop()


def _resolver(server: DemoDnsServer) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = server.port
    resolver.lifetime = 1.0
    return resolver


def _addresses(server: DemoDnsServer, name: str, rtype: str = "A") -> list[str]:
    return sorted(record.to_text() for record in _resolver(server).resolve(name, rtype))


def test_dns_a_records_answered(server):
    assert _addresses(server, "site.example") == ["192.0.2.10", "192.0.2.11"]


def test_dns_aaaa_records_answered(server):
    assert _addresses(server, "site.example", "AAAA") == ["2001:db8::10"]


def test_dns_names_case_insensitive(server):
    assert _addresses(server, "SITE.Example.") == ["192.0.2.10", "192.0.2.11"]


def test_dns_cname_chain_followed_inside_zone(server):
    answer = _resolver(server).resolve("www.site.example", "A")

    assert [record.to_text() for record in answer] == ["198.51.100.7"]
    assert answer.canonical_name.to_text() == "edge.site.example."
    chain = [(rrset.name.to_text(), rrset.to_text().split()[-1]) for rrset in answer.response.answer]
    assert chain == [
        ("www.site.example.", "cdn.site.example."),
        ("cdn.site.example.", "edge.site.example."),
        ("edge.site.example.", "198.51.100.7"),
    ]


def test_dns_unknown_name_is_nxdomain(server):
    with pytest.raises(dns.resolver.NXDOMAIN):
        _resolver(server).resolve("unknown.example", "A")


def test_dns_cname_to_unknown_name_is_nxdomain(server):
    with pytest.raises(dns.resolver.NXDOMAIN):
        _resolver(server).resolve("dangling.example", "A")


def test_dns_known_name_without_type_has_no_answer(server):
    with pytest.raises(dns.resolver.NoAnswer):
        _resolver(server).resolve("edge.site.example", "AAAA")


def test_dns_servfail_name_raises_no_nameservers(server):
    server.servfail.add("Broken.Example.")

    with pytest.raises(dns.resolver.NoNameservers):
        _resolver(server).resolve("broken.example", "A")


def test_dns_runtime_change_makes_name_hop(server):
    assert _addresses(server, "site.example") == ["192.0.2.10", "192.0.2.11"]

    server.set_record("site.example", "A", ["203.0.113.5"])
    assert _addresses(server, "site.example") == ["203.0.113.5"]


def test_dns_tcp_answers_on_same_port(server):
    query = dns.message.make_query("site.example", "A")

    response = dns.query.tcp(query, "127.0.0.1", port=server.port, timeout=1.0)

    assert response.rcode() == dns.rcode.NOERROR
    assert sorted(item.to_text() for item in response.answer[0]) == ["192.0.2.10", "192.0.2.11"]


def test_dns_address_has_resolver_setting_format(server):
    assert server.address == f"127.0.0.1:{server.port}"


def test_dns_set_record_rejects_wrong_address_family():
    server = DemoDnsServer()

    with pytest.raises(ValueError, match="A records need IPv4 addresses"):
        server.set_record("site.example", "A", ["2001:db8::1"])


def test_dns_cli_serves_zone_until_sigterm(tmp_path):
    zone_file = tmp_path / "zone.json"
    zone_file.write_text('{"cli.example": {"A": ["192.0.2.99"]}}')
    command = [sys.executable, "-m", "notices.demo.dns", "--port", "0", "--zone-json", str(zone_file)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        port = int(proc.stdout.readline().split()[4].rsplit(":", 1)[1])
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers, resolver.port, resolver.lifetime = ["127.0.0.1"], port, 1.0
        addresses = [record.to_text() for record in resolver.resolve("cli.example", "A")]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0

    assert addresses == ["192.0.2.99"]
