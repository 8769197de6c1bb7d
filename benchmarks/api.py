"""P6: single-report API latency under a steady load.

`POST /api/v1/reports/` (a partner key, one new URL per request) at a fixed 200 requests/s against the web
process as `make run` starts it (gunicorn, 2 workers × 4 threads), from an open-loop client: request i is due
at start + i / rate and its latency counts from that moment, so a slow answer that delays the next ones is
charged to them too (no coordinated omission). The baseline is `GET /healthz` — the same server, no database —
at the same rate in the same run. Reported: p99 latency in ms (target < 50 ms) and the number of errors
(target 0).
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

from benchmarks.harness import ROOT, Result, log, reset_database, stop_process

RATE = 200  # requests per second
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
        env = {**os.environ, "DEBUG": "false"}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "tracker.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
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

    def __exit__(self, *exc) -> None:
        stop_process(self.proc, timeout=15)  # its process group: gunicorn and its workers


def partner_key() -> str:
    from notices.enums import KeyScope
    from notices.models import Partner
    from notices.services.keys import create_api_key

    partner = Partner.objects.create(name="Bench Partner Hotline", country="NL")
    _, plaintext = create_api_key(scope=KeyScope.PARTNER, partner=partner, name="P6")
    return plaintext


async def _open_loop(port: int, n: int, request) -> tuple[list[float], int]:
    """Send n requests at RATE per second on schedule; latencies (ms, from each one's due time) and errors."""
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
            due = start + i / RATE
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(session, i, due)))
        await asyncio.gather(*tasks)
    return latencies, errors


def measure(port: int, n: int, request) -> tuple[float, float, int]:
    """(p50 ms, p99 ms, errors) of n requests after WARMUP uncounted ones."""
    asyncio.run(_open_loop(port, WARMUP, request))
    latencies, errors = asyncio.run(_open_loop(port, n, request))
    if len(latencies) < 100:
        raise RuntimeError(f"only {len(latencies)} of {n} requests answered as expected")
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49], cuts[98], errors


def run(scale: str) -> list[Result]:
    reset_database()
    key = partner_key()
    n = RATE * SECONDS[scale]
    headers = {"Authorization": f"Bearer {key}"}
    counter = iter(range(10**9))

    def report(i: int):
        body = {"url": f"http://files{next(counter)}.bench-intake.example/gallery/{i}.html"}
        return "POST", "/api/v1/reports/", {"json": body, "headers": headers}, 201

    def health(i: int):
        return "GET", "/healthz", {}, 200

    with WebServer() as server:
        base_p50, base_p99, base_errors = measure(server.port, n, health)
        p50, p99, errors = measure(server.port, n, report)
    log(
        f"P6: POST /api/v1/reports/ at {RATE}/s: p50 {p50:.1f} ms, p99 {p99:.1f} ms, {errors} errors; "
        f"GET /healthz p50 {base_p50:.1f} ms, p99 {base_p99:.1f} ms, {base_errors} errors"
    )
    reset_database()
    common = {"id": "P6", "unit": "ms", "better": "lower", "scale": scale, "n": n}
    return [
        Result.compare(
            name=f"single-report API p99 at {RATE} req/s (ms)",
            value=p99,
            target="< 50 ms",
            baseline="GET /healthz p99, same rate",
            baseline_value=base_p99,
            **common,
        ),
        Result.compare(
            name=f"single-report API errors at {RATE} req/s",
            value=errors,
            target="< 1",
            baseline=None,
            baseline_value=None,
            **{**common, "unit": "errors"},
        ),
    ]
