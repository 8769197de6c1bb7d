"""P2 — IP → provider/ASN/country lookups/s on the path production runs: every open case re-evaluated after a
registry import (`reevaluate_open_cases`, notices.services.reevaluation).

Set-up: a synthetic RIPE dump and a pyasn file (benchmarks/registry_data.py) imported with the real importers,
a provider per organisation, and 1,000,000 open cases (plus 200,000 removed ones the re-evaluation must pass
over) written with COPY, each with a current trace whose provider, ASN and country are the index's answer for
its address (95 % of the addresses inside the data; sources of the size the tracer writes). Then a newer pyasn
file is imported in which every 20th allocation is announced by another AS, so about 5 % of the cases change.

Measured: `reevaluate_open_cases` with the index of the new generations — reading every open case through the
server-side cursor, the lookups, the comparisons, and one `url.hosting_changed` event written per changed case
(the events are emptied between rounds). REEVALUATE_MAX_RETRACES=0: how many re-traces are queued is capped
independently of the cases, and P11 measures tracing. The index is built once per import; its build time is
logged, not counted (as the baselines' trees are not).

Same-run baselines on the same addresses, in memory: a bare pytricia tree (routes and inetnum CIDRs → a value,
no answer logic), pyasn loaded from the same ipasn file (prefix → ASN only), and — for where the time goes —
reading the same open cases through the same cursor without looking anything up (target "report").
The ways are timed in interleaved rounds and each reports its median.
"""

from __future__ import annotations

import io
import statistics
from pathlib import Path

import pyasn
import pytricia

from benchmarks.harness import ROOT, Result, Stopwatch, changed_settings, log

SIZES = {"small": (25_000, 1_000_000), "full": (300_000, 1_000_000)}  # (inetnums, open cases)
CLOSED_SHARE = 5  # one removed case per five open ones
RENUMBERED_EVERY = 20  # every 20th allocation is announced by another AS in the newer routing data
ROUNDS = 3  # interleaved rounds; the median of each is reported (the machine is shared)
COPY_ROWS = 50_000
DATA_DIR = ROOT / "var" / "bench-data"
TRACED_AT = "2026-03-01 06:00:00+00"


def import_data(paths: list[str], ipasn: str) -> None:
    from django.utils import timezone

    from notices.hosting.importers import import_files

    for fmt, files in (("ripe", paths), ("pyasn", [ipasn])):
        summary = import_files(fmt, files, now=timezone.now(), force=True, show_progress=False)
        log(f"imported {fmt}: {summary.record.counts} in {summary.seconds:.1f} s")


def bare_tree() -> pytricia.PyTricia:
    """The same prefixes (announced and inetnum CIDRs) in a plain radix tree."""
    from django.db import connection

    tree = pytricia.PyTricia(128)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT prefix::text, asn FROM notices_routedprefix UNION ALL "
            "SELECT cidr::text, 0 FROM notices_inetnum"
        )
        for prefix, value in cursor.fetchall():
            tree[prefix] = value
    return tree


def make_providers(allocations: int) -> None:
    """A provider per organisation of the dump, as the first traces of its networks would have made them."""
    from benchmarks.registry_data import organisation_handles
    from notices.models import HostingProvider

    HostingProvider.objects.bulk_create(
        [
            HostingProvider(
                slug=handle.lower(), name=f"Hosting {handle[4:-5]} Ltd", country="NL", org_handles=[handle]
            )
            for handle in organisation_handles(allocations)
        ],
        batch_size=5_000,
    )


def _sources(ip: str, answer) -> str:
    """Trace sources of the size the tracer writes for these networks (DNS, routing, two inetnums, role,
    org)."""
    network = ip.rsplit(".", 1)[0]
    return (
        f'[{{"source": "dns", "query": "h.bench.example", '
        f'"answer": {{"ips": ["{ip}"], "cnames": [], "error": ""}}}}, '
        f'{{"source": "pyasn", "query": "{network}.0/24", '
        f'"answer": {{"asn": {answer.asn or "null"}, "as_org": ""}}}}, '
        f'{{"source": "ripe-inetnum", "query": "{network}.0 - {network}.255", "answer": {{"netname": "NET", '
        '"country": "EU", "org": "", "abuse_c": "AC-TEST", "status": "ASSIGNED PA", '
        '"mnt_by": ["LIR-MNT"]}}, '
        f'{{"source": "ripe-inetnum", "query": "{network}.0 - {network}.255", "answer": {{"netname": "LIR", '
        f'"country": "{answer.country}", "org": "{answer.org_handle}", "abuse_c": "", '
        '"status": "ALLOCATED PA", "mnt_by": ["RIPE-NCC-HM-MNT", "LIR-MNT"]}}, '
        '{"source": "ripe-role", "query": "AC-TEST", "answer": '
        '{"via": "abuse-c", "name": "Abuse-C Role", "abuse_mailboxes": ["abuse@ac-test.example"], '
        '"placeholders_skipped": []}}, '
        f'{{"source": "ripe-organisation", "query": "{answer.org_handle}", '
        '"answer": {"name": "Hosting Ltd", "org_type": "OTHER", "country": "NL", "abuse_c": "AR-TEST"}}]'
    )


def _copy(cursor, table: str, columns: str, lines: list[str]) -> None:
    cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", io.StringIO("".join(lines)))
    lines.clear()


URL_COLUMNS = (
    "id, original, canonical, canonical_hash, host, status, country_at_notice, notice_type_at_notice, "
    "first_reported_at, consecutive_gone, reappearance_count, last_outcome, created_at, "
    "first_gone_vantage, current_trace_id, provider_id"
)
TRACE_COLUMNS = (
    "id, url_id, traced_at, host, ips, cnames, ip, prefix, asn, provider_id, country, abuse_emails, "
    "sources, error, is_hop, allocation_holder, country_source, org_handle, origin_as_org, "
    "origin_unknown"
)


NULL = r"\N"  # COPY's NULL


def _case_lines(pk: int, ip: str, status: str, answer) -> tuple[str, str]:
    """One case and its current trace as COPY text lines."""
    host, provider, asn = f"h{pk}.bench.example", answer.provider_id or NULL, answer.asn or NULL
    url = f"http://{host}/p"
    url_line = "\t".join(
        map(
            str,
            [
                pk,
                url,
                url,
                f"\\\\x{pk:064x}",
                host,
                status,
                "",
                "",
                TRACED_AT,
                0,
                0,
                "",
                TRACED_AT,
                "",
                pk,
                provider,
            ],
        )
    )
    trace_line = "\t".join(
        map(
            str,
            [
                pk,
                pk,
                TRACED_AT,
                host,
                f'["{ip}"]',
                "[]",
                ip,
                "",
                asn,
                provider,
                answer.country,
                "[]",
                _sources(ip, answer),
                "",
                "f",
                "",
                "registry",
                answer.org_handle,
                "",
                "f",
            ],
        )
    )
    return url_line + "\n", trace_line + "\n"


def write_cases(addresses: list[str], index, closed: int) -> None:
    """The cases and their current traces, by COPY in one transaction (the foreign keys are deferred)."""
    from django.db import connection, transaction

    statuses = ["notified"] * 7 + ["assessed"] * 2 + ["new"]
    urls, traces = [], []
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        for pk, ip in enumerate(addresses + addresses[:closed], start=1):
            status = statuses[pk % 10] if pk <= len(addresses) else "removed"
            url_line, trace_line = _case_lines(pk, ip, status, index.lookup(ip) or index.unknown)
            urls.append(url_line)
            traces.append(trace_line)
            if len(urls) >= COPY_ROWS:
                _copy(raw, "notices_url", URL_COLUMNS, urls)
                _copy(raw, "notices_hostingtrace", TRACE_COLUMNS, traces)
        _copy(raw, "notices_url", URL_COLUMNS, urls)
        _copy(raw, "notices_hostingtrace", TRACE_COLUMNS, traces)
        for table in ("notices_url", "notices_hostingtrace"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [len(addresses) + closed]
            )
    with connection.cursor() as cursor:  # as autovacuum will have done by the next import (visibility map)
        cursor.execute("VACUUM ANALYZE notices_url")
        cursor.execute("VACUUM ANALYZE notices_hostingtrace")


def write_renumbered_ipasn(directory: Path, ipasn: str) -> str:
    """The routing data of a later day: every RENUMBERED_EVERY-th allocation's /16 announced by another AS."""
    path = directory / f"renumbered.{Path(ipasn).name}"
    lines = Path(ipasn).read_text().splitlines(keepends=True)
    with open(path, "w") as handle:
        for line in lines:
            prefix, _, asn = line.rstrip("\n").partition("\t")
            if asn and prefix.endswith(".0.0/16"):
                first, second = prefix.split(".")[:2]
                k = (int(first) - 240) * 256 + int(second)
                line = f"{prefix}\t{65000 + k}\n" if k % RENUMBERED_EVERY == 0 else line
            handle.write(line)
    return str(path)


def timed(lookup, addresses: list[str]) -> float:
    with Stopwatch() as sw:
        for address in addresses:
            lookup(address)
    return len(addresses) / sw.seconds


def reevaluation_rate(index, n: int) -> tuple[float, int]:
    """One re-evaluation of every open case, from empty events: (cases/s, changed cases)."""
    from django.db import connection
    from django.utils import timezone

    from notices.services.reevaluation import reevaluate_open_cases

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE notices_event")
    with changed_settings(REEVALUATE_MAX_RETRACES=0), Stopwatch() as sw:
        summary = reevaluate_open_cases(now=timezone.now(), index=index)
    if summary.examined != n or summary.events != summary.changed:
        raise RuntimeError(
            f"re-evaluation examined {summary.examined:,} of {n:,} open cases, "
            f"{summary.events:,} events for {summary.changed:,} changed"
        )
    return summary.examined / sw.seconds, summary.changed


def read_rate(n: int) -> float:
    """The same open cases read through the same server-side cursor, nothing looked up."""
    from django.db import transaction

    from notices.services.reevaluation import open_case_batches

    rows = 0
    with transaction.atomic(), Stopwatch() as sw:
        for batch in open_case_batches():
            rows += len(batch)
    if rows != n:
        raise RuntimeError(f"read {rows:,} open cases of {n:,}")
    return rows / sw.seconds


def run(scale: str) -> list[Result]:
    from django.utils import timezone

    from benchmarks.registry_data import allocations_for, sample_addresses, write_ipasn, write_ripe_dump
    from notices.hosting.importers import import_files
    from notices.hosting.lookup import build_index

    inetnums, n = SIZES[scale]
    allocations = allocations_for(inetnums)
    paths, _ = write_ripe_dump(DATA_DIR, inetnums)
    ipasn = write_ipasn(DATA_DIR, allocations)
    import_data(paths, ipasn)
    make_providers(allocations)
    before = build_index()
    addresses = sample_addresses(n, allocations)
    with Stopwatch() as sw:
        write_cases(addresses, before, n // CLOSED_SHARE)
    log(
        f"{n:,} open and {n // CLOSED_SHARE:,} removed cases with their traces written by COPY in "
        f"{sw.seconds:.1f} s"
    )
    import_files(
        "pyasn",
        [write_renumbered_ipasn(DATA_DIR, ipasn)],
        now=timezone.now(),
        force=True,
        show_progress=False,
    )
    index = build_index()
    expected = sum(
        1 for a in addresses if (before.lookup(a) or before.unknown) != (index.lookup(a) or index.unknown)
    )
    log(
        f"index: {index.nodes:,} nodes from the active generations in {index.build_seconds:.1f} s; "
        f"the new routing data moves {expected:,} open cases"
    )
    tree, asndb = bare_tree(), pyasn.pyasn(ipasn)
    ways = {
        "project": lambda: reevaluation_rate(index, n),
        "bare radix tree (pytricia)": lambda: timed(tree.get, addresses),
        "pyasn": lambda: timed(asndb.lookup, addresses),
        "reading the open cases alone (server-side cursor)": lambda: read_rate(n),
    }
    rounds: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(ROUNDS):
        for name, way in ways.items():
            value = way()
            if name == "project":
                value, changed = value
                if changed != expected:
                    raise RuntimeError(
                        f"re-evaluation found {changed:,} changed cases, expected {expected:,}"
                    )
            rounds[name].append(value)
    medians = {name: statistics.median(values) for name, values in rounds.items()}
    project = medians.pop("project")
    log(f"P2: {project:,.0f} open cases re-evaluated per second ({expected:,} events each round)")
    targets = {"bare radix tree (pytricia)": "≥ 0.5×", "pyasn": "≥ 1×"}
    return [
        Result.compare(
            id="P2",
            name="open cases re-evaluated after an import (lookups/s)",
            value=project,
            unit="lookups/s",
            better="higher",
            target=targets.get(name, "report"),
            baseline=name,
            baseline_value=value,
            scale=scale,
            n=n,
        )
        for name, value in medians.items()
    ]
