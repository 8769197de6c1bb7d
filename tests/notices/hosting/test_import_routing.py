"""`import_registry pyasn | mmdb | delegated`: routing and country data, their bad input, their
generations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from notices.hosting.importers import ImportFailed
from notices.models import CountryBlock, RegistryImport, RoutedPrefix

PYASN = """; IP-ASN32-DAT file
; Original file : data/rib.20260301.0600.bz2
; Converted on  : Sun Mar  1 07:00:00 2026
; Prefixes-v4   : 3
;
198.51.100.0/24\t64500
198.51.100.0/25\t64501
203.0.113.0/24\t64502
2001:db8::/32\t64520
"""


def routed(dataset: str) -> list[tuple]:
    generation = RegistryImport.objects.get(dataset=dataset, status="active")
    return sorted(
        (str(r.prefix), r.asn, r.as_org) for r in RoutedPrefix.objects.filter(generation=generation)
    )


def countries(dataset: str) -> list[tuple]:
    generation = RegistryImport.objects.get(dataset=dataset, status="active")
    rows = CountryBlock.objects.filter(generation=generation)
    return sorted((str(r.prefix), r.country, r.registry, r.status) for r in rows)


# --- pyasn --------------------------------------------------------------------------------------------------


def test_import_pyasn_loads_ipv4_and_ipv6_with_the_rib_time(write_file, import_data):
    summary = import_data("pyasn", write_file("ipasn.dat.gz", PYASN))

    assert summary.record.data_time == datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
    assert routed("pyasn") == [
        ("198.51.100.0/24", 64500, ""),
        ("198.51.100.0/25", 64501, ""),
        ("2001:db8::/32", 64520, ""),
        ("203.0.113.0/24", 64502, ""),
    ]


def test_import_pyasn_skips_bad_lines_with_file_and_line(write_file, import_data):
    path = write_file(
        "ipasn.dat", PYASN + "198.51.100.7/24\t64500\nnot a line\n192.0.2.0/24\tAS1\n192.0.2.0/33\t1\n"
    )

    summary = import_data("pyasn", path)

    assert summary.skips.reasons == {
        "invalid prefix (skipped)": {"count": 2, "first": f"{path}:10"},
        "malformed line (not `prefix<TAB>asn`; skipped)": {"count": 1, "first": f"{path}:11"},
        "invalid AS number (skipped)": {"count": 1, "first": f"{path}:12"},
    }
    assert len(routed("pyasn")) == 4


def test_import_pyasn_cut_off_last_line_stops(write_file, import_data):
    path = write_file("ipasn.dat", PYASN + "192.0.2.0/2")

    with pytest.raises(ImportFailed) as failure:
        import_data("pyasn", path)

    assert str(failure.value) == f"{path}:10: truncated last line: malformed line (not `prefix<TAB>asn`)"
    assert not RegistryImport.objects.filter(status="active").exists()


# --- MMDB ---------------------------------------------------------------------------------------------------


@pytest.fixture
def mmdb_file(tmp_path):
    """Factory: an MMDB file written with mmdb-writer, {cidr: record}."""

    def _make(database_type: str, networks: dict[str, dict]) -> str:
        writer = MMDBWriter(ip_version=6, database_type=database_type, ipv4_compatible=True)
        for cidr, record in networks.items():
            writer.insert_network(IPSet([cidr]), record)
        path = tmp_path / f"{database_type}.mmdb"
        writer.to_db_file(str(path))
        return str(path)

    return _make


def test_import_mmdb_asn_database(mmdb_file, import_data):
    path = mmdb_file(
        "GeoLite2-ASN",
        {
            "198.51.100.0/24": {
                "autonomous_system_number": 64500,
                "autonomous_system_organization": "Polder Hosting",
            },
            "2001:db8::/32": {
                "autonomous_system_number": 64520,
                "autonomous_system_organization": "Sechs GmbH",
            },
        },
    )

    summary = import_data("mmdb", path)

    assert summary.record.dataset == "mmdb-asn"
    assert routed("mmdb-asn") == [
        ("198.51.100.0/24", 64500, "Polder Hosting"),
        ("2001:db8::/32", 64520, "Sechs GmbH"),
    ]


def test_import_mmdb_country_database_prefers_country_over_registered_country(mmdb_file, import_data):
    path = mmdb_file(
        "GeoLite2-Country",
        {
            "198.51.100.0/24": {"country": {"iso_code": "NL"}, "registered_country": {"iso_code": "DE"}},
            "203.0.113.0/24": {"registered_country": {"iso_code": "US"}},
            "192.0.2.0/24": {"continent": {"code": "EU"}},
        },
    )

    summary = import_data("mmdb", path)

    assert summary.record.dataset == "mmdb-country"
    assert countries("mmdb-country") == [
        ("198.51.100.0/24", "NL", "mmdb", ""),
        ("203.0.113.0/24", "US", "mmdb", ""),
    ]
    assert summary.skips.reasons["network without a country code"]["count"] == 1


def test_import_mmdb_rejects_a_file_that_is_not_mmdb(write_file, import_data):
    path = write_file("broken.mmdb", b"\x00" * 4096)

    with pytest.raises(ImportFailed) as failure:
        import_data("mmdb", path)

    assert str(failure.value).startswith(f"{path}: not a readable MMDB database: ")


def test_import_mmdb_rejects_an_unknown_database_type(mmdb_file, import_data):
    path = mmdb_file("GeoIP2-Anonymous-IP", {"198.51.100.0/24": {"is_anonymous": True}})

    with pytest.raises(ImportFailed) as failure:
        import_data("mmdb", path)

    assert str(failure.value) == (
        f"{path}: MMDB database type 'GeoIP2-Anonymous-IP' is neither an ASN nor a country database"
    )


# --- delegated ----------------------------------------------------------------------------------------------

DELEGATED = """2|ripencc|1772406000|6|19830705|20260301|+0100
ripencc|*|ipv4|*|3|summary
ripencc|*|ipv6|*|2|summary
ripencc|*|asn|*|1|summary
ripencc|NL|ipv4|198.51.100.0|256|20100712|allocated|647c2f10-dda2-4809-88e8-49024f31ad17
ripencc|EU|ipv4|203.0.113.0|192|20100910|allocated|9c08de7e-ce93-49c2-90e2-2a4b641d9619
ripencc||ipv4|192.0.2.0|256||available
ripencc|DE|ipv6|2001:db8::|32|19990826|allocated
ripencc||ipv6|2001:db8:ffff::|48||reserved
ripencc|EU|asn|64500|1|19930901|allocated
"""


def test_import_delegated_country_per_block(write_file, import_data):
    summary = import_data("delegated", write_file("delegated-ripencc-extended-latest", DELEGATED))

    assert summary.record.data_time == datetime(2026, 3, 1, tzinfo=UTC)
    assert countries("delegated") == [
        ("198.51.100.0/24", "NL", "ripencc", "allocated"),
        ("2001:db8::/32", "DE", "ripencc", "allocated"),
        ("203.0.113.0/25", "EU", "ripencc", "allocated"),
        ("203.0.113.128/26", "EU", "ripencc", "allocated"),
    ]
    assert {reason: entry["count"] for reason, entry in summary.skips.reasons.items()} == {
        "available/reserved blocks (no country; left out)": 2,
        "asn records (not used)": 1,
    }


def test_import_delegated_skips_bad_records(write_file, import_data):
    path = write_file(
        "delegated", DELEGATED + "ripencc|NL|ipv4|198.51.100.300|256|20100712|allocated\nripencc|NL\n"
    )

    summary = import_data("delegated", path)

    assert summary.skips.reasons["invalid ipv4 record (skipped)"] == {"count": 1, "first": f"{path}:11"}
    assert summary.skips.reasons["malformed record (too few fields; skipped)"] == {
        "count": 1,
        "first": f"{path}:12",
    }
