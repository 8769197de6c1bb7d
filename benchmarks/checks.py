"""P4, P7, P8: the checker at scale.

- P4: checks/s through the project's path (claim → check → record, as the sweep task runs it) against a local
  HTTP server, versus a plain aiohttp loop hitting the same server with the same concurrency, in the same run.
  Then the same checks by 2 worker processes (`benchmarks.check_worker`, sharing the due queue by claims)
  versus 1, each run on all URLs due again: the scaling of the checks queue over processes.
- P7 (checks): one due-check claim (a batch) with 1,000,000 open items, versus the same claim with 10,000
  open: the ratio shows the cost grows with the batch, not with the open cases. The plan goes to the log. The
  escalation sweep's part of P7 (claim and perform the due steps) is benchmarks/escalation.py.
- P8: peak RSS of the checking process over many checks, versus its RSS before checking.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import threading

import psutil

from benchmarks.harness import Result, Stopwatch, changed_settings, log, reset_database, stop_process

SIZES = {
    "small": {"p4": 20_000, "p7": 100_000, "p8": 50_000},
    "full": {"p4": 100_000, "p7": 1_000_000, "p8": 1_000_000},
}
HOSTS = 250  # 198.51.100.1–250: documentation addresses, connected to the local server by CHECKER_CONNECT_TO
BATCH = 5000  # P4/P8: checks per claimed batch (CHECK_BATCH_SIZE for throughput)
CLAIM_BATCH = 1000  # P7: the default CHECK_BATCH_SIZE
CLAIM_REPEATS = 7


class HttpTarget:
    """The local HTTP server in its own process."""

    def __enter__(self) -> HttpTarget:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.http_target"], stdout=subprocess.PIPE, text=True
        )
        try:
            self.port = int(self.proc.stdout.readline())
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        stop_process(self.proc, timeout=10)


def _checker_settings(port: int):
    """The checker pointed at the local server, for the benchmark only (restored afterwards)."""
    return changed_settings(
        CHECKER_CONNECT_TO=f"198.51.100.0/24=127.0.0.1:{port}",
        CHECKER_CONCURRENCY=100,
        CHECKER_PER_HOST=2,
        CHECKER_PER_HOST_PER_MINUTE=10**9,  # politeness limits are for real sites, not this loopback server
        CHECK_BATCH_SIZE=BATCH,
    )


def insert_open_items(n: int, *, due: int) -> None:
    """n noticed URLs on documentation addresses; the first `due` are due now (check and escalation step), the
    rest spread over a week."""
    from django.db import connection

    from notices.models import DueCheck, Url

    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {Url._meta.db_table} (original, canonical, canonical_hash, host, status,
                    first_reported_at, created_at, consecutive_gone, reappearance_count, country_at_notice,
                    notice_type_at_notice, last_outcome, first_gone_vantage, first_notice_sent_at,
                    next_check_at, next_escalation_at)
                SELECT u, u, sha256(u::bytea), h, 'notified', now(), now(), 0, 0, '', 'hotline_notice', '',
                       '', now(), d, d
                FROM generate_series(1, %(n)s) AS g,
                     LATERAL (SELECT CASE WHEN g <= %(due)s THEN now() - interval '1 second'
                                          ELSE now() + (g %% 604800) * interval '1 second' END) AS t(d),
                     LATERAL (SELECT '198.51.100.' || (1 + g %% {HOSTS})) AS a(h),
                     LATERAL (SELECT 'http://' || h || '/c/' || g) AS x(u)""",
            {"n": n, "due": due},
        )
        cursor.execute(f"ANALYZE {Url._meta.db_table}")
        cursor.execute(f"ANALYZE {DueCheck._meta.db_table}")


def make_all_due() -> None:
    from django.db import connection

    from notices.models import Url

    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Url._meta.db_table} SET next_check_at = now() - interval '1 second'")


def project_checks(n: int) -> float:
    """Run the sweep's body until nothing is due; checks/s."""
    from django.utils import timezone

    from notices.services.checking import run_checks

    checked = 0
    with Stopwatch() as sw:
        while done := run_checks(now=timezone.now(), limit=BATCH):
            checked += done
    if checked != n:
        raise RuntimeError(f"checked {checked}, expected {n}")
    return n / sw.seconds


async def _plain_loop(port: int, n: int, concurrency: int = 100) -> None:
    import aiohttp

    urls = iter(range(n))

    async def worker(session: aiohttp.ClientSession) -> None:
        for i in urls:
            headers = {"Host": f"198.51.100.{1 + i % HOSTS}"}
            async with session.get(f"http://127.0.0.1:{port}/c/{i}", headers=headers) as response:
                await response.content.read(4096)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))


def plain_checks(port: int, n: int) -> float:
    with Stopwatch() as sw:
        asyncio.run(_plain_loop(port, n))
    return n / sw.seconds


def p4(scale: str, port: int) -> list[Result]:
    n = SIZES[scale]["p4"]
    reset_database()
    insert_open_items(n, due=n)
    rates, plain = [], []
    for _ in range(2):
        make_all_due()
        rates.append(project_checks(n))
        plain.append(plain_checks(port, n))
    project, baseline = statistics.median(rates), statistics.median(plain)
    log(f"P4: project {project:,.0f} checks/s, plain aiohttp loop {baseline:,.0f} req/s")
    common = {
        "id": "P4",
        "name": "checks/s, claim → check → record",
        "unit": "checks/s",
        "better": "higher",
        "scale": scale,
        "n": n,
    }
    return [
        Result.compare(
            value=project, baseline="plain aiohttp loop", baseline_value=baseline, target="≥ 0.5×", **common
        ),
        Result.compare(value=project, baseline=None, baseline_value=None, target="≥ 1,000/s", **common),
    ]


def worker_checks(port: int, n: int, processes: int) -> float:
    """`processes` check workers go at once and run until nothing is due; checks/s over all of them."""
    env = {
        **os.environ,
        "CHECKER_CONNECT_TO": f"198.51.100.0/24=127.0.0.1:{port}",
        "CHECKER_CONCURRENCY": "100",
        "CHECKER_PER_HOST": "2",
        "CHECKER_PER_HOST_PER_MINUTE": str(10**9),
        "CHECK_BATCH_SIZE": str(BATCH // processes),  # the backlog splits over the processes, as claims do
        "CELERY_BROKER_URL": "memory://",  # re-traces after commit: no broker round trip measured
        "LOG_LEVEL": "WARNING",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.check_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(processes)
    ]
    try:
        for proc in procs:
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("a check worker did not start")
        with Stopwatch() as sw:
            for proc in procs:
                proc.stdin.write("go\n")
                proc.stdin.flush()
            counts = [int(proc.stdout.readline()) for proc in procs]
            for proc in procs:
                proc.wait()
    finally:
        for proc in procs:
            stop_process(proc)
    if sum(counts) != n:
        raise RuntimeError(f"{processes} check workers checked {counts} URLs, expected {n} in all")
    log(f"P4: {processes} worker process(es) checked {counts} in {sw.seconds:.1f} s")
    return n / sw.seconds


def p4_processes(scale: str, port: int) -> list[Result]:
    """P4 with 1 and with 2 worker processes on the same due URLs (all due again before each run)."""
    n = SIZES[scale]["p4"]
    rates = {}
    for processes in (1, 2):
        make_all_due()
        rates[processes] = worker_checks(port, n, processes)
    log(f"P4: 1 process {rates[1]:,.0f} checks/s, 2 processes {rates[2]:,.0f} checks/s")
    common = {"id": "P4", "unit": "checks/s", "better": "higher", "scale": scale, "n": n, "target": "report"}
    return [
        Result.compare(
            name="checks/s, 1 worker process", value=rates[1], baseline=None, baseline_value=None, **common
        ),
        Result.compare(
            name="checks/s, 2 worker processes",
            value=rates[2],
            baseline="1 worker process",
            baseline_value=rates[1],
            **common,
        ),
    ]


def _claim_ms(claim, repeats: int = CLAIM_REPEATS) -> float:
    """Median ms of `claim(now=…, limit=CLAIM_BATCH)`, each in its own transaction, each claiming a full
    batch."""
    from django.db import transaction
    from django.utils import timezone

    times = []
    for _ in range(repeats):
        with Stopwatch() as sw, transaction.atomic():
            claimed = claim(now=timezone.now(), limit=CLAIM_BATCH)
        if len(claimed) != CLAIM_BATCH:
            raise RuntimeError(f"claimed {len(claimed)}, expected {CLAIM_BATCH}")
        times.append(sw.seconds * 1000)
    return statistics.median(times)


def _log_plan() -> None:
    from django.db import connection
    from django.utils import timezone

    from notices.models import DueCheck

    with connection.cursor() as cursor:
        cursor.execute(
            f"""EXPLAIN (ANALYZE, COSTS OFF) SELECT url_id FROM {DueCheck._meta.db_table}
                WHERE due_at <= %s ORDER BY due_at LIMIT {CLAIM_BATCH} FOR UPDATE SKIP LOCKED""",
            [timezone.now()],
        )
        log("P7 plan of the due-claim:\n  " + "\n  ".join(row[0] for row in cursor.fetchall()))


def p7(scale: str) -> list[Result]:
    """The due-check claim with 10,000 and with `n` open items."""
    from notices.checks.scheduling import claim_due

    n = SIZES[scale]["p7"]
    checks = {}
    for open_items in (10_000, n):
        reset_database()
        insert_open_items(open_items, due=CLAIM_REPEATS * CLAIM_BATCH)
        checks[open_items] = _claim_ms(claim_due)
        log(f"P7: claim of {CLAIM_BATCH} due checks with {open_items:,} open: {checks[open_items]:.1f} ms")
    _log_plan()
    reset_database()
    return [
        Result.compare(
            id="P7",
            name="due-check claim (ms)",
            value=checks[n],
            unit="ms",
            better="lower",
            target="< 1,000 ms",
            baseline="due-check claim with 10,000 open",
            baseline_value=checks[10_000],
            scale=scale,
            n=n,
        )
    ]


def p8(scale: str) -> list[Result]:
    """Check `total` URLs in rounds of `round_size` items (made due again each round), sampling RSS."""
    total = SIZES[scale]["p8"]
    round_size = min(total, 50_000)
    reset_database()
    insert_open_items(round_size, due=round_size)
    process = psutil.Process(os.getpid())
    before = process.memory_info().rss
    peak = [before]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    for done in range(0, total, round_size):
        make_all_due()
        project_checks(round_size)
        log(f"P8: {done + round_size:,}/{total:,} checked, peak RSS {peak[0] / 2**20:.0f} MB")
        _trim_checks()
    stop.set()
    sampler.join()
    reset_database()
    mb = 2**20
    return [
        Result.compare(
            id="P8",
            name="worker RSS over many checks (MB)",
            value=peak[0] / mb,
            unit="MB",
            better="lower",
            target="< 300 MB",
            baseline="RSS before checking",
            baseline_value=before / mb,
            scale=scale,
            n=total,
        )
    ]


def _trim_checks() -> None:
    """Keep the check table small between rounds; P8 measures the process, not the table."""
    from django.db import connection

    from notices.models import Check

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Check._meta.db_table}")


def run(scale: str) -> list[Result]:
    results = []
    with HttpTarget() as target, _checker_settings(target.port):
        results += p4(scale, target.port)
        results += p4_processes(scale, target.port)
        results += p7(scale)
        results += p8(scale)
    return results
