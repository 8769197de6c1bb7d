"""P3 — RIPE dump import: objects/s end to end into PostgreSQL and the importer's peak RSS.

The importer runs as it does in production: `manage.py import_registry ripe` in its own process, on gzip split
dumps (inetnum, organisation, role) generated in the real format (benchmarks/registry_data.py). Wall time
includes start-up, decompression, parsing, COPY, index builds and the switch; RSS is the process's peak
(wait4). The same-run baseline is PostgreSQL alone: COPY of the already-parsed inetnum rows into a bare table
plus the same GiST index build — what the import would cost if parsing were free.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

from benchmarks.harness import ROOT, Result, Stopwatch, log, reset_database

SIZES = {"small": 100_000, "full": 1_000_000}
DATA_DIR = ROOT / "var" / "bench-data"


def run_import(paths: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of `manage.py import_registry ripe PATHS`."""
    env = {**os.environ, "DB_CONN_MAX_AGE": "0"}
    command = [sys.executable, "manage.py", "import_registry", "ripe", *paths, "--no-progress", "--force"]
    with Stopwatch() as sw:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    output = proc.stdout.read().decode() + proc.stderr.read().decode()
    proc.stdout.close(), proc.stderr.close()
    if proc.returncode:
        raise RuntimeError(f"import failed:\n{output}")
    log(output.strip())
    return sw.seconds, usage.ru_maxrss / 1024


def raw_copy_baseline() -> float:
    """Rows/s of COPY + GiST build for the inetnum rows the import just wrote (read back as text first)."""
    from django.db import connection

    with connection.cursor() as cursor:
        buffer = io.StringIO()
        cursor.copy_expert(
            "COPY (SELECT cidr, first_ip, last_ip, netname, country, org, abuse_c, status, mnt_by "
            "FROM notices_inetnum) TO STDOUT",
            buffer,
        )
        rows = buffer.getvalue().count("\n")
        buffer.seek(0)
        cursor.execute("DROP TABLE IF EXISTS bench_inetnum_copy")
        cursor.execute("CREATE TABLE bench_inetnum_copy (LIKE notices_inetnum INCLUDING DEFAULTS)")
        cursor.execute("ALTER TABLE bench_inetnum_copy ALTER COLUMN generation_id SET DEFAULT 0")
        with Stopwatch() as sw:
            cursor.copy_expert(
                "COPY bench_inetnum_copy (cidr, first_ip, last_ip, netname, country, org, abuse_c, "
                "status, mnt_by) FROM STDIN",
                buffer,
            )
            cursor.execute("CREATE INDEX ON bench_inetnum_copy USING gist (cidr inet_ops)")
        cursor.execute("DROP TABLE bench_inetnum_copy")
    return rows / sw.seconds


def run(scale: str) -> list[Result]:
    from benchmarks.registry_data import write_ripe_dump

    log(f"generating a synthetic RIPE dump with {SIZES[scale]:,} inetnums in {DATA_DIR}")
    paths, objects = write_ripe_dump(DATA_DIR, SIZES[scale])
    reset_database()
    seconds, rss = run_import(paths)
    rate = objects / seconds
    baseline = raw_copy_baseline()
    log(
        f"P3: {objects:,} objects in {seconds:.1f} s = {rate:,.0f}/s, peak RSS {rss:.0f} MB; raw COPY "
        f"{baseline:,.0f}/s"
    )
    common = {"scale": scale, "n": objects}
    return [
        Result.compare(
            id="P3",
            name="RIPE dump import objects/s",
            value=rate,
            unit="objects/s",
            better="higher",
            target="≥ 25,000/s",
            baseline="raw COPY + index of the parsed rows",
            baseline_value=baseline,
            **common,
        ),
        Result.compare(
            id="P3",
            name="RIPE dump import peak RSS",
            value=rss,
            unit="MB",
            better="lower",
            target="< 500 MB",
            baseline=None,
            baseline_value=None,
            **common,
        ),
    ]
