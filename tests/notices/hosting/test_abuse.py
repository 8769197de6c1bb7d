"""The abuse contact by RIPE's rule: own abuse-c, org's abuse-c, climb; RIPE NCC's blocks stop it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from notices.hosting.tracer import trace_url

from .conftest import dump, inetnum, organisation, role

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOST = "files.roemer.example"


def traced_abuse(dns_server, make_url, now, address: str) -> list[str]:
    dns_server.set_record(HOST, "A", [address])
    return trace_url(url=make_url(HOST), now=now).abuse_emails


@pytest.fixture
def load(write_file, import_data):
    def _load(*objects: str) -> None:
        import_data("ripe", write_file("ripe.db", dump(*objects)), as_of=T0)

    return _load


NCC_BLOCK = inetnum(
    "203.0.113.0 - 203.0.113.255",
    netname="EU-ZZ-203",
    country="EU",
    org="ORG-NCC1-TEST",
    status="ALLOCATED UNSPECIFIED",
    mnt_by=("RIPE-NCC-HM-MNT",),
)
NCC_ORG = organisation(
    "ORG-NCC1-TEST", "RIPE Network Coordination Centre", abuse_c="NCC1-TEST", org_type="RIR"
)
NCC_ROLE = role("NCC1-TEST", "abuse@ncc.example")
ROEMER_ORG = organisation("ORG-RH1-TEST", "Roemer Hosting SRL", country="RO", abuse_c="RH1-TEST")


def test_abuse_own_abuse_c_comes_first(dns_server, make_url, load, now):
    load(
        inetnum("203.0.113.0 - 203.0.113.127", org="ORG-RH1-TEST", abuse_c="OWN1-TEST"),
        ROEMER_ORG,
        role("OWN1-TEST", "own@roemer.example"),
        role("RH1-TEST", "org@roemer.example"),
    )

    assert traced_abuse(dns_server, make_url, now, "203.0.113.10") == ["own@roemer.example"]


def test_abuse_org_abuse_c_when_the_object_has_none(dns_server, make_url, load, now):
    load(
        inetnum("203.0.113.0 - 203.0.113.127", org="ORG-RH1-TEST"),
        ROEMER_ORG,
        role("RH1-TEST", "org@roemer.example"),
    )

    assert traced_abuse(dns_server, make_url, now, "203.0.113.10") == ["org@roemer.example"]


def test_abuse_climbs_to_the_next_less_specific_object(dns_server, make_url, load, now):
    load(
        inetnum("203.0.113.0 - 203.0.113.127", org="ORG-RH1-TEST", status="ALLOCATED PA"),
        ROEMER_ORG,
        role("RH1-TEST", "org@roemer.example"),
        inetnum("203.0.113.0 - 203.0.113.15", netname="CUSTOMER"),
    )

    assert traced_abuse(dns_server, make_url, now, "203.0.113.10") == ["org@roemer.example"]


def test_abuse_climb_stops_at_an_object_ripe_ncc_maintains(dns_server, make_url, load, now):
    """An allocation maintained by RIPE NCC without any abuse-c: never the RIR's own contact above it."""
    load(
        NCC_BLOCK,
        NCC_ORG,
        NCC_ROLE,
        inetnum("203.0.113.0 - 203.0.113.127", status="ALLOCATED PA", mnt_by=("RIPE-NCC-HM-MNT", "RH-MNT")),
    )

    assert traced_abuse(dns_server, make_url, now, "203.0.113.10") == []


def test_abuse_climb_goes_on_above_an_object_ripe_ncc_does_not_maintain(dns_server, make_url, load, now):
    load(NCC_BLOCK, NCC_ORG, NCC_ROLE, inetnum("203.0.113.0 - 203.0.113.127", mnt_by=("RH-MNT",)))

    assert traced_abuse(dns_server, make_url, now, "203.0.113.10") == ["abuse@ncc.example"]


def test_abuse_placeholder_contacts_are_skipped_and_the_climb_goes_on(
    dns_server, make_url, load, settings, now
):
    settings.HOSTING_PLACEHOLDER_CONTACTS = ["unread@ripe.net", "@placeholder.example"]
    load(
        inetnum("203.0.113.0 - 203.0.113.127", org="ORG-RH1-TEST", status="ALLOCATED PA"),
        ROEMER_ORG,
        role("RH1-TEST", "org@roemer.example"),
        inetnum("203.0.113.0 - 203.0.113.15", abuse_c="PH1-TEST"),
        role("PH1-TEST", "Abuse@Placeholder.example"),
    )

    assert traced_abuse(dns_server, make_url, now, "203.0.113.10") == ["org@roemer.example"]


def test_abuse_keeps_every_address_but_the_placeholders(dns_server, make_url, load, now):
    load(
        inetnum("203.0.113.0 - 203.0.113.127", abuse_c="MULTI1-TEST"),
        role("MULTI1-TEST", "a@roemer.example unread@ripe.net", "b@roemer.example"),
    )

    assert traced_abuse(dns_server, make_url, now, "203.0.113.10") == ["a@roemer.example", "b@roemer.example"]


def test_abuse_c_naming_a_role_without_mailbox_is_recorded(dns_server, make_url, load, now):
    load(inetnum("203.0.113.0 - 203.0.113.127", abuse_c="GONE1-TEST"))
    dns_server.set_record(HOST, "A", ["203.0.113.10"])

    trace = trace_url(url=make_url(HOST), now=now)

    assert trace.abuse_emails == []
    assert trace.sources[-1] == {
        "source": "ripe-role",
        "query": "GONE1-TEST",
        "answer": {"via": "abuse-c", "error": "no role with an abuse-mailbox in the imported data"},
    }


def test_abuse_provider_contacts_when_the_registry_has_none(dns_server, make_url, load, make_provider, now):
    make_provider("roemer", country="RO", prefix=None, org_handles=["ORG-RH1-TEST"])
    load(inetnum("203.0.113.0 - 203.0.113.127", org="ORG-RH1-TEST"), organisation("ORG-RH1-TEST", "Roemer"))

    assert traced_abuse(dns_server, make_url, now, "203.0.113.10") == ["abuse@roemer.example"]
