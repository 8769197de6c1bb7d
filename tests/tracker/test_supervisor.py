"""`make run`'s supervisor starts the whole stack and stops every process it started."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_until(proc: subprocess.Popen, marker: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"{marker!r} not printed; output:\n{''.join(seen)[-4000:]}")


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def test_supervisor_starts_stack_and_stops_everything(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "EMAIL_URL",
                                                            "EMAIL_HOST", "DNS_RESOLVER", "XDG_RUNTIME_DIR"}}  # fmt: skip
    env.update(
        TRACKER_VAR_DIR=str(tmp_path / "var"), PORT=str(port), SMTP_SINK_PORT=str(free_port()),
        DEMO_DNS_PORT="0", DEMO_WEB_PORT="0", DEMO_WEB_CONTROL_PORT="0", PYTHONUNBUFFERED="1",
    )  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracker.supervisor"], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        output = read_until(proc, "Press Ctrl-C", timeout=180)
        assert f"http://127.0.0.1:{port}/admin/" in output
        key_line = next(line for line in output.splitlines() if "Partner key" in line)
        assert key_line.split()[-1].startswith("tt_")
        status, body = get(f"http://127.0.0.1:{port}/healthz")
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        status, body = get(f"http://127.0.0.1:{port}/readyz")
        assert json.loads(body)["checks"] == {"database": "ok", "broker": "ok"}
        state = json.loads((tmp_path / "var" / "supervisor.json").read_text())
        started = [psutil.Process(pid) for pid in state["children"].values()]
        started += psutil.Process(proc.pid).children(recursive=True)
        assert {"web", "worker", "beat"} == set(state["children"])
    finally:
        proc.send_signal(signal.SIGTERM)
        remaining = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, remaining
    assert "Stopped." in remaining
    _, alive = psutil.wait_procs(started, timeout=10)
    assert alive == []
    postgres = [
        p for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])
    ]
    assert postgres == []
