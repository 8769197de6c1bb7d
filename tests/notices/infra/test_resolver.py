"""The one resolver builder honours DNS_RESOLVER and DNS_TIMEOUT; `resolve_addresses` against a real DNS
server."""

from __future__ import annotations

import ipaddress

import dns.asyncresolver
import dns.resolver
import pytest

from notices.infra.resolver import (
    ResolveError,
    make_async_resolver,
    make_resolver,
    parse_nameserver,
    parse_resolver,
    resolve_addresses,
)


def test_make_resolver_honours_the_settings(settings):
    settings.DNS_RESOLVER = "192.0.2.53:5300"
    settings.DNS_TIMEOUT = 1.5

    resolver = make_resolver()

    assert isinstance(resolver, dns.resolver.Resolver)
    assert (resolver.nameservers, resolver.port, resolver.timeout, resolver.lifetime) == (
        ["192.0.2.53"],
        5300,
        1.5,
        1.5,
    )


def test_make_resolver_arguments_win_over_the_settings(settings):
    settings.DNS_RESOLVER, settings.DNS_TIMEOUT = "192.0.2.53", 9

    resolver = make_resolver("[2001:db8::53]:5353", 2)

    assert (resolver.nameservers, resolver.port, resolver.lifetime) == (["2001:db8::53"], 5353, 2)


def test_make_async_resolver_is_the_same_configuration():
    resolver = make_async_resolver("127.0.0.1:5353", 0.25)

    assert isinstance(resolver, dns.asyncresolver.Resolver)
    assert (resolver.nameservers, resolver.port, resolver.timeout, resolver.lifetime) == (
        ["127.0.0.1"],
        5353,
        0.25,
        0.25,
    )


def test_make_resolver_bad_setting_fails_loudly(settings):
    settings.DNS_RESOLVER = "resolver.example"

    with pytest.raises(ValueError, match=r"DNS resolver 'resolver\.example'"):
        make_resolver()


def test_parse_resolver_empty_means_the_system_configuration():
    assert parse_resolver("  ") is None
    with pytest.raises(ValueError):
        parse_nameserver("")


def test_resolve_addresses_asks_the_configured_server(dns_server):
    dns_server.set_record("hooks.polder.example", "A", ["198.51.100.7", "198.51.100.8"])
    dns_server.set_record("hooks.polder.example", "AAAA", ["2001:db8::7"])

    assert resolve_addresses("hooks.polder.example") == [
        ipaddress.ip_address("198.51.100.7"),
        ipaddress.ip_address("198.51.100.8"),
        ipaddress.ip_address("2001:db8::7"),
    ]


def test_resolve_addresses_failures_name_their_class(dns_server):
    dns_server.set_record("broken.polder.example", "A", ["198.51.100.7"])
    dns_server.servfail.add("broken.polder.example")

    with pytest.raises(ResolveError) as nxdomain:
        resolve_addresses("missing.polder.example")
    with pytest.raises(ResolveError) as servfail:
        resolve_addresses("broken.polder.example")

    assert (nxdomain.value.error_class, servfail.value.error_class) == ("nxdomain", "servfail")
    assert isinstance(nxdomain.value, OSError)


def test_resolve_addresses_ip_literal_builds_no_resolver(settings):
    settings.DNS_RESOLVER = "not-a-resolver"  # building one would raise

    assert resolve_addresses("[2001:DB8::1]") == [ipaddress.ip_address("2001:db8::1")]
