"""`import_registry ripe`: what lands in the tables, what is skipped or stops the import, and the switch."""

from __future__ import annotations

import gzip
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from notices.hosting.importers import ImportFailed, ImportRefused
from notices.models import AutNum, Inetnum, Organisation, RegistryImport, Role, RouteObject

from .conftest import dump, inetnum, organisation, role, rpsl

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def active(dataset="ripe") -> RegistryImport | None:
    return RegistryImport.objects.filter(dataset=dataset, status="active").first()


def inetnums(generation: RegistryImport) -> list[tuple]:
    rows = Inetnum.objects.filter(generation=generation).order_by("cidr", "first_ip")
    return [
        (str(r.cidr), r.first_ip, r.last_ip, r.netname, r.country, r.org, r.abuse_c, r.status, r.mnt_by)
        for r in rows
    ]


def test_import_ripe_loads_every_class(write_file, import_data):
    path = write_file(
        "ripe.db",
        dump(
            inetnum(
                "198.51.100.0 - 198.51.100.255",
                netname="POLDER-NET",
                country="nl # comment",
                org="ORG-PH1-TEST",
                abuse_c="AR1-TEST",
                mnt_by=("POLDER-MNT", "RIPE-NCC-HM-MNT"),
            ),
            inetnum("2001:db8::/32", netname="SECHS-V6", country="DE", cls="inet6num"),
            organisation("ORG-PH1-TEST", "Polder Hosting B.V.", abuse_c="AR1-TEST"),
            role("AR1-TEST", "abuse@polder.example, noc@polder.example"),
            rpsl("aut-num", "AS64500", "as-name:        POLDER-AS", "org:            ORG-PH1-TEST"),
            rpsl("route", "198.51.100.0/24", "origin:         AS64500"),
            rpsl("route6", "2001:db8::/32", "origin:         AS64501"),
        ),
    )

    summary = import_data("ripe", path, as_of=T0)

    generation = summary.record
    assert (generation.status, generation.data_time, generation.files) == ("active", T0, [path])
    assert generation.counts == {"inetnum": 2, "organisation": 1, "role": 1, "autnum": 1, "route": 2}
    assert inetnums(generation) == [
        (
            "198.51.100.0/24",
            "198.51.100.0",
            "198.51.100.255",
            "POLDER-NET",
            "NL",
            "ORG-PH1-TEST",
            "AR1-TEST",
            "ASSIGNED PA",
            "POLDER-MNT RIPE-NCC-HM-MNT",
        ),
        (
            "2001:db8::/32",
            "2001:db8::",
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
            "SECHS-V6",
            "DE",
            "",
            "",
            "ASSIGNED PA",
            "EXAMPLE-MNT",
        ),
    ]
    org = Organisation.objects.get(generation=generation)
    assert (org.handle, org.name, org.org_type, org.country, org.abuse_c) == (
        "ORG-PH1-TEST",
        "Polder Hosting B.V.",
        "LIR",
        "NL",
        "AR1-TEST",
    )
    assert list(Role.objects.filter(generation=generation).values_list("nic_hdl", "abuse_mailboxes")) == [
        ("AR1-TEST", ["abuse@polder.example", "noc@polder.example"])
    ]
    assert list(AutNum.objects.values_list("asn", "as_name", "org")) == [(64500, "POLDER-AS", "ORG-PH1-TEST")]
    assert sorted((str(r.prefix), r.origin) for r in RouteObject.objects.all()) == [
        ("198.51.100.0/24", 64500),
        ("2001:db8::/32", 64501),
    ]
    assert summary.skips.reasons == {}


def test_import_ripe_range_that_is_not_one_cidr_is_stored_per_cidr(write_file, import_data):
    path = write_file("ripe.db", dump(inetnum("192.0.2.0 - 192.0.2.191", netname="ODD")))

    generation = import_data("ripe", path, as_of=T0).record

    assert [(r[0], r[1], r[2]) for r in inetnums(generation)] == [
        ("192.0.2.0/25", "192.0.2.0", "192.0.2.191"),
        ("192.0.2.128/26", "192.0.2.0", "192.0.2.191"),
    ]


def test_import_ripe_reads_gzip_and_takes_the_data_time_from_its_header(write_file, import_data):
    stamp = int(T0.timestamp())
    path = write_file("ripe.db.role.gz", dump(role("AR1-TEST", "abuse@polder.example")), mtime=stamp)

    generation = import_data("ripe", path).record

    assert (generation.data_time, generation.counts["role"]) == (T0, 1)


def test_import_ripe_real_role_spellings(write_file, import_data):
    """The dummified role objects of public dumps: several addresses, a trailing comma, a comment."""
    path = write_file(
        "roles",
        dump(
            role("DUMY1-TEST", "abuse@example.com abuse@example.net"),
            role("DUMY2-TEST", "abuse@example.com, abuse@example.net"),
            role("AR2-TEST", "abuse@crimea.example,"),
            role("CC1-TEST", "abuse@cxl.example (preferred)"),
        ),
    )

    import_data("ripe", path, as_of=T0)

    assert dict(Role.objects.values_list("nic_hdl", "abuse_mailboxes")) == {
        "DUMY1-TEST": ["abuse@example.com", "abuse@example.net"],
        "DUMY2-TEST": ["abuse@example.com", "abuse@example.net"],
        "AR2-TEST": ["abuse@crimea.example"],
        "CC1-TEST": ["abuse@cxl.example"],
    }


# --- Bad input: skipped and counted -------------------------------------------------------------------------


def test_import_ripe_skips_and_counts_bad_objects_with_file_and_line(write_file, import_data):
    objects = [
        inetnum("192.0.2.0 - 192.0.2.255", netname="GOOD"),  # lines 6-20
        inetnum("192.0.2.255 - 192.0.2.0", netname="REVERSED"),
        inetnum("192.0.2.0 - 192.0.2.300", netname="BAD-ADDRESS"),
        inetnum("2001:db8::1/32", netname="HOST-BITS", cls="inet6num"),
        role("NOMAIL-TEST"),
        role("BADMAIL-TEST", "not-an-address"),
        "inetnum: 198.51.100.0 - 198.51.100.255\nthis line has no key\nsource: RIPE\n",
        rpsl("inetnum", "203.0.113.0 - 203.0.113.255", source=False),
        rpsl("person", "Dummy Person", "nic-hdl:        DUMY-RIPE"),
        inetnum("203.0.113.0 - 203.0.113.255", netname="NEWATTR").replace(
            "status:", "prefixlen:      24\nstatus:"
        ),
    ]
    text = dump(*objects)
    path = write_file("ripe.db", text)
    lines = {obj: text[: text.index(obj)].count("\n") + 1 for obj in objects}

    summary = import_data("ripe", path, as_of=T0)

    where = lambda i: f"{path}:{lines[objects[i]]}"  # noqa: E731
    assert summary.skips.reasons == {
        "invalid range (object skipped)": {"count": 3, "first": where(1)},
        "role without abuse-mailbox (not usable as abuse-c; skipped)": {"count": 2, "first": where(4)},
        "malformed line: not an attribute line (no `key:`) (object skipped)": {
            "count": 1,
            "first": f"{path}:{lines[objects[6]] + 1}",
        },
        "incomplete inetnum: no `source:` (object skipped)": {"count": 1, "first": where(7)},
        "other object class `person` (skipped)": {"count": 1, "first": where(8)},
        "unknown attribute `prefixlen` in inetnum (ignored)": {"count": 1, "first": where(9)},
    }
    assert sorted(r[3] for r in inetnums(summary.record)) == ["GOOD", "NEWATTR"]
    assert summary.record.skipped == summary.skips.reasons


# --- Bad input: the import stops, nothing is activated ------------------------------------------------------


def assert_stopped(import_data, path, message, previous=None):
    with pytest.raises(ImportFailed) as failure:
        import_data("ripe", path, as_of=T0 + timedelta(days=1))
    assert str(failure.value) == message
    assert active() == previous
    failed = RegistryImport.objects.get(status="failed")
    assert (failed.message, failed.files) == (message, [path])
    return failed


def test_import_ripe_corrupt_gzip_stops(write_file, import_data):
    good = gzip.compress(dump(*[role(f"R{i}-TEST", "abuse@x.example") for i in range(2000)]).encode())
    path = write_file("ripe.db.gz", good[:200] + bytes(200) + good[400:])

    with pytest.raises(ImportFailed) as failure:
        import_data("ripe", path, as_of=T0)

    assert failure.value.path == path
    assert str(failure.value).startswith(f"{path}:")
    assert "unreadable input (corrupt or truncated?)" in str(failure.value)
    assert active() is None
    assert Role.objects.count() == 0


def lines_before_cut(data: bytes) -> int:
    """Complete lines a reader gets out of a cut-off gzip stream before the error."""
    return zlib.decompressobj(31).decompress(data).count(b"\n")


def test_import_ripe_truncated_gzip_stops_with_the_line_reached(write_file, import_data):
    text = dump(*[role(f"R{i}-TEST", "abuse@x.example") for i in range(3)])
    data = gzip.compress(text.encode())[:-12]
    path = write_file("ripe.db.gz", data)

    assert_stopped(
        import_data,
        path,
        f"{path}:{lines_before_cut(data) + 1}: unreadable input (corrupt or "
        "truncated?): Compressed file ended before the end-of-stream marker was reached",
    )


def test_import_ripe_truncated_object_at_the_end_stops(write_file, import_data):
    text = dump(
        role("AR1-TEST", "abuse@x.example"), "role:           Cut Off\nnic-hdl:        CUT1-TEST\nabuse-mai"
    )
    path = write_file("ripe.db", text)
    line = text.count("\n") - 1

    assert_stopped(
        import_data,
        path,
        f"{path}:{line + 2}: truncated object at end of file: malformed line: "
        "not an attribute line (no `key:`)",
    )


def test_import_ripe_object_without_source_at_the_end_stops(write_file, import_data):
    text = dump(role("AR1-TEST", "abuse@x.example"), "role:           Cut Off\nnic-hdl:        CUT1-TEST\n")
    path = write_file("ripe.db", text)

    assert_stopped(
        import_data,
        path,
        f"{path}:{text.count(chr(10)) - 1}: truncated object at end of file: incomplete role: no `source:`",
    )


def test_import_ripe_unreadable_file_stops(tmp_path, import_data):
    path = str(tmp_path / "missing.db.gz")

    with pytest.raises(ImportFailed) as failure:
        import_data("ripe", path)

    assert str(failure.value) == f"{path}: cannot open: No such file or directory"


def test_import_ripe_failing_import_leaves_the_previous_generation_active(write_file, import_data):
    first = import_data(
        "ripe", write_file("good.db", dump(inetnum("192.0.2.0 - 192.0.2.255"))), as_of=T0
    ).record
    bad = gzip.compress(dump(inetnum("198.51.100.0 - 198.51.100.255")).encode())[:-12]
    path = write_file("bad.db.gz", bad)

    assert_stopped(
        import_data,
        path,
        f"{path}:{lines_before_cut(bad) + 1}: unreadable input (corrupt or "
        "truncated?): Compressed file ended before the end-of-stream marker was reached",
        previous=first,
    )
    assert [r[0] for r in inetnums(first)] == ["192.0.2.0/24"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class WHERE relname LIKE 'notices_inetnum_g%%' AND relkind = 'r'"
        )
        assert cursor.fetchone() == (1,)


# --- Generations --------------------------------------------------------------------------------------------


def test_import_ripe_newer_import_replaces_the_active_one(write_file, import_data):
    first = import_data("ripe", write_file("a.db", dump(inetnum("192.0.2.0 - 192.0.2.255"))), as_of=T0)
    second = import_data(
        "ripe",
        write_file("b.db", dump(inetnum("198.51.100.0 - 198.51.100.255"))),
        as_of=T0 + timedelta(days=1),
    )

    first.record.refresh_from_db()
    assert (first.record.status, second.record.status) == ("superseded", "active")
    assert [str(r.cidr) for r in Inetnum.objects.all()] == ["198.51.100.0/24"]
    assert sorted(second.dropped) == sorted(
        f"notices_{t}_g{first.record.pk}"
        for t in ("inetnum", "organisation", "role", "autnum", "routeobject")
    )


def test_import_ripe_older_data_is_refused_unless_forced(write_file, import_data):
    import_data("ripe", write_file("a.db", dump(inetnum("192.0.2.0 - 192.0.2.255"))), as_of=T0)
    older = write_file("old.db", dump(inetnum("198.51.100.0 - 198.51.100.255")))

    with pytest.raises(ImportRefused) as refusal:
        import_data("ripe", older, as_of=T0 - timedelta(days=1))
    assert "is older than the active import" in str(refusal.value)
    assert [str(r.cidr) for r in Inetnum.objects.all()] == ["192.0.2.0/24"]

    import_data("ripe", older, as_of=T0 - timedelta(days=1), force=True)
    assert [str(r.cidr) for r in Inetnum.objects.all()] == ["198.51.100.0/24"]


def test_import_ripe_same_data_again_is_idempotent(write_file, import_data):
    path = write_file("a.db", dump(inetnum("192.0.2.0 - 192.0.2.255"), role("AR1-TEST", "a@x.example")))
    import_data("ripe", path, as_of=T0)

    again = import_data("ripe", path, as_of=T0).record

    assert again.status == "active"
    assert (Inetnum.objects.count(), Role.objects.count()) == (1, 1)


def test_import_ripe_of_some_classes_carries_the_others_over(write_file, import_data):
    import_data(
        "ripe",
        write_file("all.db", dump(inetnum("192.0.2.0 - 192.0.2.255"), role("A1-TEST", "a@x.example"))),
        as_of=T0,
    )

    roles_only = import_data(
        "ripe", write_file("ripe.db.role", dump(role("B1-TEST", "b@x.example"))), as_of=T0 + timedelta(days=1)
    ).record

    assert roles_only.counts == {"inetnum": 1, "organisation": 0, "role": 1, "autnum": 0, "route": 0}
    assert [str(r.cidr) for r in Inetnum.objects.filter(generation=roles_only)] == ["192.0.2.0/24"]
    assert list(Role.objects.values_list("nic_hdl", flat=True)) == ["B1-TEST"]


# --- The command --------------------------------------------------------------------------------------------


def test_import_registry_command_prints_a_summary(write_file, capsys, db):
    path = write_file("ripe.db", dump(inetnum("192.0.2.0 - 192.0.2.255"), role("NOMAIL-TEST")))

    call_command("import_registry", "ripe", path, "--as-of", "2026-03-01", "--no-progress")

    out = capsys.readouterr().out.splitlines()
    generation = active()
    assert out[0] == (
        f"Imported RIPE database split dump as generation #{generation.pk} (data of 2026-03-01 00:00 UTC), "
        "now active."
    )
    assert out[1].startswith("Read 2 objects in ")
    assert out[2] == "Rows: inetnum 1, organisation 0, role 0, autnum 0, route 0"
    assert (
        out[3]
        == f"          1 × role without abuse-mailbox (not usable as abuse-c; skipped) — first at {path}:22"
    )


def test_import_registry_command_fails_with_file_and_line(write_file, db):
    path = write_file("ripe.db", "role:           Cut\nnic-hdl:        CUT1-TEST\n")

    with pytest.raises(CommandError) as failure:
        call_command("import_registry", "ripe", path, "--no-progress")

    assert str(failure.value) == f"{path}:1: truncated object at end of file: incomplete role: no `source:`"
