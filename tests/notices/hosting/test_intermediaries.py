"""CDNs and reverse proxies: the intermediary is marked, the origin is unknown until an analyst enters it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from notices.hosting.overrides import create_override
from notices.hosting.tracer import trace_url
from notices.models import Event, HostingOverride

from .conftest import dump, inetnum, organisation, role

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOST = "www.shop.example"


@pytest.fixture
def cdn(write_file, import_data, settings):
    settings.HOSTING_INTERMEDIARIES = ["AS64510", "2001:db8:cd::/48"]
    import_data(
        "ripe",
        write_file(
            "ripe.db",
            dump(
                inetnum("203.0.113.0 - 203.0.113.255", netname="EDGE", country="US", org="ORG-EC1-TEST"),
                organisation("ORG-EC1-TEST", "Edge CDN Inc.", country="US", abuse_c="EC1-TEST"),
                role("EC1-TEST", "abuse@edge-cdn.example"),
            ),
        ),
        as_of=T0,
    )
    import_data("pyasn", write_file("ipasn.dat", "203.0.113.0/24\t64510\n"), as_of=T0)


def test_trace_url_behind_a_cdn_marks_it_and_leaves_the_origin_unknown(dns_server, make_url, cdn, now):
    dns_server.set_record(HOST, "CNAME", "shop.edge-cdn.example")
    dns_server.set_record("shop.edge-cdn.example", "A", ["203.0.113.7"])

    trace = trace_url(url=make_url(HOST), now=now)

    assert (trace.provider, trace.intermediary.name, trace.origin_unknown, trace.country) == (
        None,
        "Edge CDN Inc.",
        True,
        "",
    )
    assert (trace.asn, trace.abuse_emails, trace.cnames) == (
        64510,
        ["abuse@edge-cdn.example"],
        ["shop.edge-cdn.example"],
    )
    assert {
        "source": "intermediary",
        "query": "AS64510",
        "answer": {"provider": "org-ec1-test"},
    } in trace.sources


def test_trace_url_behind_a_cdn_prefix(dns_server, make_url, cdn, now):
    dns_server.set_record(HOST, "AAAA", ["2001:db8:cd::7"])

    trace = trace_url(url=make_url(HOST), now=now)

    assert (trace.provider, trace.intermediary, trace.origin_unknown) == (None, None, True)
    assert trace.sources[-1] == {
        "source": "intermediary",
        "query": "2001:db8:cd::/48",
        "answer": {"provider": None},
    }


def test_trace_url_behind_a_cdn_takes_the_origin_an_analyst_entered(
    dns_server, make_url, cdn, make_provider, analyst, now, django_capture_on_commit_callbacks
):
    origin = make_provider("origin", country="NL", prefix=None)
    dns_server.set_record(HOST, "A", ["203.0.113.7"])
    case = make_url(HOST)
    trace_url(url=case, now=now)
    case.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        override = create_override(
            url=case,
            scope="host",
            provider=origin,
            note="origin confirmed by the CDN",
            user=analyst,
            now=now,
            actor="user:analyst",
        )
    trace = trace_url(url=case, now=now)

    assert (override.scope, override.host, len(callbacks)) == ("host", HOST, 1)
    assert Event.objects.get(kind="url.override").data == {
        "override": override.pk,
        "scope": "host",
        "provider": origin.pk,
    }
    assert (trace.provider, trace.intermediary.name, trace.origin_unknown, trace.override) == (
        origin,
        "Edge CDN Inc.",
        False,
        override,
    )
    assert (trace.country, trace.country_source, trace.abuse_emails) == ("", "", ["abuse@origin.example"])


def test_trace_url_behind_a_cdn_ignores_asn_overrides_for_the_origin(
    dns_server, make_url, cdn, make_provider, now
):
    cloud = make_provider("cloud", country="US", prefix=None)
    HostingOverride.objects.create(scope="asn", asn=64510, provider=cloud)
    dns_server.set_record(HOST, "A", ["203.0.113.7"])

    trace = trace_url(url=make_url(HOST), now=now)

    assert (trace.provider, trace.origin_unknown) == (None, True)


def test_create_override_prefix_needs_a_traced_prefix(make_url, now):
    case = make_url(HOST)

    with pytest.raises(ValueError, match="the current trace has no prefix to override"):
        create_override(url=case, scope="prefix", country="NL", now=now)
