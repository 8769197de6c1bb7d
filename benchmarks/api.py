"""P6: single-report API latency under a steady load.

`POST /api/v1/reports/` (a partner key, one new URL per request) at a fixed 200 requests/s against the web
process exactly as `make run` starts it (`tracker.supervisor.web_command`: gunicorn, 2 workers × 4 threads,
the redacting access log), from an open-loop client on loopback: request i is due at start + i / rate and its
latency counts from that moment, so a slow answer that delays the next ones is charged to them too (no
coordinated omission). The baseline is `GET /healthz` — the same server, no database — at the same rate in
the same run. Reported: p99 latency in ms (target < 50 ms), the errors (target 0), p50, the rate achieved
(answers per second from the first due time to the last answer) and the web processes' CPU per request (user
+ system time of gunicorn and its workers over the phase, divided by its requests). The same at 500
requests/s shows where the server saturates (report only).
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

import psutil

from benchmarks.harness import ROOT, Result, log, reset_database, stop_process
from tracker.supervisor import web_command

RATE = 200  # requests per second (the target's)
HIGH_RATE = 500  # the saturation probe
SECONDS = {"small": 10, "full": 30}
WARMUP = 200  # requests sent and not counted, so connections and caches are warm


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WebServer:
    """The web process in its own process group, as `make run` starts it, on the benchmark database."""

    def __enter__(self) -> WebServer:
        self.port = _free_port()
        # API_THROTTLE_RATE stays the default (6,000/min, 100/s): the partner's key has a rate of its own
        # above the offered load (`partner_key`), as a hotline gives a partner posting 500 reports a second.
        env = {**os.environ, "DEBUG": "false"}
        self.proc = subprocess.Popen(
            web_command(sys.executable, self.port),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,  # the access log (make run prints it)
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("the web process did not answer /healthz within 60 s")

    def cpu_seconds(self) -> float:
        """User + system CPU time of gunicorn and its workers so far."""
        master = psutil.Process(self.proc.pid)
        total = 0.0
        for process in [master, *master.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def __exit__(self, *exc) -> None:
        stop_process(self.proc, timeout=15)  # its process group: gunicorn and its workers


def partner_key() -> str:
    from notices.enums import KeyScope
    from notices.models import Partner
    from notices.services.keys import create_api_key

    partner = Partner.objects.create(name="Bench Partner Hotline", country="NL")
    # A rate of its own, above the highest offered load (HIGH_RATE): every request is still counted by the
    # limiter, none is refused by it, and other keys keep API_THROTTLE_RATE.
    _, plaintext = create_api_key(
        scope=KeyScope.PARTNER, partner=partner, name="P6", rate=f"{HIGH_RATE * 2 * 60}/min"
    )
    return plaintext


@dataclass(frozen=True)
class Phase:
    rate: int
    p50: float
    p99: float
    errors: int
    achieved: float  # answers per second
    cpu_ms: float  # web CPU per request


async def _open_loop(port: int, n: int, rate: int, request) -> tuple[list[float], int, float]:
    """Send n requests at `rate` per second on schedule: latencies (ms, from each one's due time), errors,
    and the seconds from the first due time to the last answer."""
    import aiohttp

    latencies: list[float] = []
    errors = 0

    async def one(session: aiohttp.ClientSession, i: int, due: float) -> None:
        nonlocal errors
        try:
            method, path, kwargs, expected = request(i)
            async with session.request(method, f"http://127.0.0.1:{port}{path}", **kwargs) as response:
                await response.read()
                if response.status != expected:
                    errors += 1
                    return
        except (aiohttp.ClientError, TimeoutError):
            errors += 1
            return
        latencies.append((time.perf_counter() - due) * 1000)

    connector = aiohttp.TCPConnector(limit=256)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter() + 0.1
        tasks = []
        for i in range(n):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(session, i, due)))
        await asyncio.gather(*tasks)
    return latencies, errors, time.perf_counter() - start


def measure(server: WebServer, n: int, rate: int, request) -> Phase:
    """One phase: WARMUP uncounted requests, then n at `rate` with the web's CPU time around them."""
    asyncio.run(_open_loop(server.port, WARMUP, rate, request))
    cpu_before = server.cpu_seconds()
    latencies, errors, elapsed = asyncio.run(_open_loop(server.port, n, rate, request))
    cpu = server.cpu_seconds() - cpu_before
    if len(latencies) < 100:
        raise RuntimeError(f"only {len(latencies)} of {n} requests answered as expected")
    cuts = statistics.quantiles(latencies, n=100)
    # CPU per answered request: requests that timed out on the client may still have cost the server.
    return Phase(rate, cuts[49], cuts[98], errors, len(latencies) / elapsed, cpu * 1000 / len(latencies))


def _describe(what: str, phase: Phase) -> str:
    return (
        f"{what} at {phase.rate}/s: p50 {phase.p50:.1f} ms, p99 {phase.p99:.1f} ms, {phase.errors} errors, "
        f"{phase.achieved:.0f} answers/s, {phase.cpu_ms:.2f} CPU ms per request"
    )


def run(scale: str) -> list[Result]:
    reset_database()
    key = partner_key()
    seconds = SECONDS[scale]
    headers = {"Authorization": f"Bearer {key}"}
    counter = iter(range(10**9))

    def report(i: int):
        body = {"url": f"http://files{next(counter)}.bench-intake.example/gallery/{i}.html"}
        return "POST", "/api/v1/reports/", {"json": body, "headers": headers}, 201

    def health(i: int):
        return "GET", "/healthz", {}, 200

    with WebServer() as server:
        base = measure(server, RATE * seconds, RATE, health)
        single = measure(server, RATE * seconds, RATE, report)
        high = measure(server, HIGH_RATE * seconds, HIGH_RATE, report)
    for what, phase in (("GET /healthz", base), ("POST /api/v1/reports/", single), ("POST", high)):
        log("P6: " + _describe(what, phase))
    reset_database()
    common = {"id": "P6", "better": "lower", "scale": scale, "n": RATE * seconds, "target": "report"}
    return [
        Result.compare(
            name=f"single-report API p99 at {RATE} req/s (ms)",
            value=single.p99,
            unit="ms",
            **{**common, "target": "< 50 ms"},
            baseline="GET /healthz p99, same rate",
            baseline_value=base.p99,
        ),
        Result.compare(
            name=f"single-report API errors at {RATE} req/s",
            value=single.errors,
            unit="errors",
            **{**common, "target": "< 1"},
            baseline=None,
            baseline_value=None,
        ),
        Result.compare(
            name=f"single-report API p50 at {RATE} req/s (ms)",
            value=single.p50,
            unit="ms",
            **common,
            baseline="GET /healthz p50, same rate",
            baseline_value=base.p50,
        ),
        Result.compare(
            name=f"single-report API web CPU per request at {RATE} req/s (ms)",
            value=single.cpu_ms,
            unit="ms",
            **common,
            baseline="GET /healthz, same rate",
            baseline_value=base.cpu_ms,
        ),
        Result.compare(
            name=f"single-report API answers per second, offered {RATE}/s",
            value=single.achieved,
            unit="req/s",
            **{**common, "better": "higher"},
            baseline="offered rate",
            baseline_value=RATE,
        ),
        Result.compare(
            name=f"single-report API answers per second, offered {HIGH_RATE}/s (saturation probe)",
            value=high.achieved,
            unit="req/s",
            **{**common, "better": "higher", "n": HIGH_RATE * seconds},
            baseline="offered rate",
            baseline_value=HIGH_RATE,
        ),
        Result.compare(
            name=f"single-report API p99 at {HIGH_RATE} req/s offered (ms)",
            value=high.p99,
            unit="ms",
            **{**common, "n": HIGH_RATE * seconds},
            baseline=f"p99 at {RATE} req/s",
            baseline_value=single.p99,
        ),
    ]
