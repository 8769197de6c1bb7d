"""P2 — IP → provider, ASN, country lookups/s through the project's in-process index.

Data: a synthetic RIPE dump and a pyasn file (benchmarks/registry_data.py) imported with the real importers;
the index is built from the active generations (notices.hosting.lookup). 1,000,000 addresses, 95 % inside
the data; the three ways are timed in interleaved rounds and each reports its median. Same-run baselines
on the same prefixes: a bare pytricia tree (routes and inetnum CIDRs → a
value, no answer logic) and pyasn loaded from the same ipasn file (prefix → ASN only).
"""

from __future__ import annotations

import statistics

import pyasn
import pytricia

from benchmarks.harness import ROOT, Result, Stopwatch, log

SIZES = {"small": (25_000, 1_000_000), "full": (300_000, 1_000_000)}  # (inetnums, lookups)
ROUNDS = 3  # interleaved rounds; the median of each is reported (the machine is shared)
DATA_DIR = ROOT / "var" / "bench-data"


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
        cursor.execute("SELECT prefix::text, asn FROM notices_routedprefix UNION ALL "
                       "SELECT cidr::text, 0 FROM notices_inetnum")  # fmt: skip
        for prefix, value in cursor.fetchall():
            tree[prefix] = value
    return tree


def timed(lookup, addresses: list[str]) -> float:
    with Stopwatch() as sw:
        for address in addresses:
            lookup(address)
    return len(addresses) / sw.seconds


def run(scale: str) -> list[Result]:
    from benchmarks.registry_data import allocations_for, sample_addresses, write_ipasn, write_ripe_dump
    from notices.hosting.lookup import build_index

    inetnums, n = SIZES[scale]
    paths, _ = write_ripe_dump(DATA_DIR, inetnums)
    ipasn = write_ipasn(DATA_DIR, allocations_for(inetnums))
    import_data(paths, ipasn)
    index = build_index()
    log(f"index: {index.nodes:,} nodes from the active generations in {index.build_seconds:.1f} s")
    addresses = sample_addresses(n, allocations_for(inetnums))
    tree, asndb = bare_tree(), pyasn.pyasn(ipasn)
    found = sum(1 for a in addresses[:10_000] if index.lookup(a) is not None)
    log(f"{found / 100:.0f} % of sampled addresses answered; tree has {len(tree):,} prefixes")
    ways = {"project": index.lookup, "bare radix tree (pytricia)": tree.get, "pyasn": asndb.lookup}
    rounds: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(ROUNDS):
        for name, way in ways.items():
            rounds[name].append(timed(way, addresses))
    baselines = {name: statistics.median(values) for name, values in rounds.items()}
    project = baselines.pop("project")
    targets = {"bare radix tree (pytricia)": "≥ 0.5×", "pyasn": "≥ 1×"}
    return [
        Result.compare(id="P2", name="IP → provider/ASN/country lookups/s", value=project, unit="lookups/s",
                       better="higher", target=targets[name], baseline=name, baseline_value=value, scale=scale, n=n)
        for name, value in baselines.items()
    ]  # fmt: skip
