"""P11 — URLs traced per second as Celery tasks (`notices.trace_url`) against a local DNS server.

Set-up: synthetic registry data imported with the real importers, N URLs on N hosts (`*.bench.example`)
whose A records point into it, a real DNS server (notices.demo.dns), an embedded Redis broker and one Celery
worker (prefork, one process per core). Measured: from the first `delay()` until every URL has its trace.
Baseline in the same run: the same traces in a plain in-process loop (`trace_url` one after another).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

from benchmarks.harness import (
    ROOT,
    Result,
    Stopwatch,
    celery_broker,
    changed_settings,
    log,
    reset_database,
    stop_process,
)

SIZES = {"small": 1_000, "full": 10_000}
DATA_DIR = ROOT / "var" / "bench-data"
INETNUMS = 25_000


def make_urls(n: int, dns) -> list[int]:
    from django.utils import timezone

    from benchmarks.registry_data import allocations_for, sample_addresses
    from notices.models import Url
    from notices.services.intake import ReportInput, submit_reports

    addresses = sample_addresses(n, allocations_for(INETNUMS), seed=11)
    for i, address in enumerate(addresses):
        dns.set_record(f"h{i}.bench.example", "A", [address])
    items = [ReportInput(url=f"http://h{i}.bench.example/p/{i}") for i in range(n)]
    submit_reports(items=items, now=timezone.now())
    return list(Url.objects.order_by("pk").values_list("pk", flat=True))


def start_worker(broker: str, dns_address: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "CELERY_BROKER_URL": broker,
        "DNS_RESOLVER": dns_address,
        "RDAP_BASE_URL": "",
        "DB_CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
    }
    log_file = open(ROOT / "var" / "bench-worker.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tracker",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(os.cpu_count() or 2),
            "-l",
            "warning",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    proc.log_file = log_file
    return proc


def stop_worker(proc: subprocess.Popen) -> None:
    try:
        stop_process(proc, timeout=30)
    finally:
        proc.log_file.close()


def wait_traced(ids: list[int], timeout: float) -> None:
    from notices.models import Url

    deadline = time.monotonic() + timeout
    while Url.objects.filter(pk__in=ids, traced_at__isnull=True).exists():
        if time.monotonic() > deadline:
            raise RuntimeError("traces did not finish in time; see var/bench-worker.log")
        time.sleep(0.2)


def measure_celery(ids: list[int], broker: str, dns_address: str) -> float:
    from notices.tasks import trace_url_task

    # The app's connections to this broker are closed before the broker stops (run() stops it).
    with celery_broker(broker):
        worker = start_worker(broker, dns_address)
        try:
            trace_url_task.delay(ids[0])
            wait_traced(ids[:1], 60)  # the worker is up and warm
            with Stopwatch() as sw:
                for pk in ids[1:]:
                    trace_url_task.delay(pk)
                wait_traced(ids, 1800)
        finally:
            stop_worker(worker)
    return (len(ids) - 1) / sw.seconds


def measure_loop(ids: list[int]) -> float:
    from django.utils import timezone

    from notices.hosting.tracer import trace_url
    from notices.models import Url

    with Stopwatch() as sw:
        for url in Url.objects.filter(pk__in=ids):
            trace_url(url=url, now=timezone.now())
    return len(ids) / sw.seconds


def run(scale: str) -> list[Result]:
    from benchmarks.lookup import import_data
    from benchmarks.registry_data import allocations_for, write_ipasn, write_ripe_dump
    from notices.demo.dns import DemoDnsServer
    from notices.models import HostingTrace, Url
    from tracker.embedded import redis

    n = SIZES[scale]
    paths, _ = write_ripe_dump(DATA_DIR, INETNUMS)
    reset_database()
    import_data(paths, write_ipasn(DATA_DIR, allocations_for(INETNUMS)))
    dns = DemoDnsServer({})
    dns.start()
    try:
        broker_dir = ROOT / "var" / "bench-redis"
        shutil.rmtree(broker_dir, ignore_errors=True)
        broker_proc, broker = redis.start(broker_dir)
        try:
            with changed_settings(DNS_RESOLVER=dns.address, RDAP_BASE_URL=""):
                ids = make_urls(n, dns)
                celery_rate = measure_celery(ids, broker, dns.address)
                HostingTrace.objects.all().delete()
                Url.objects.update(traced_at=None, current_trace=None)
                loop_rate = measure_loop(ids)
        finally:
            redis.stop(broker_proc)
    finally:
        dns.stop()
    log(f"P11: {celery_rate:,.0f} URLs/s as Celery tasks; in-process loop {loop_rate:,.0f} URLs/s")
    return [
        Result.compare(
            id="P11",
            name="URLs traced per second as tasks (local DNS)",
            value=celery_rate,
            unit="URLs/s",
            better="higher",
            target="report",
            baseline="in-process trace loop",
            baseline_value=loop_rate,
            scale=scale,
            n=n,
        )
    ]
