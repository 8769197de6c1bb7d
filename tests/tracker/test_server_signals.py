"""Every server command owns SIGTERM/SIGINT before it announces "listening": a signal right after the line
(or even while the line is being written) stops it cleanly with status 0, whatever the inherited
disposition."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(120)

SERVERS = {
    "smtp sink": ["-m", "tracker.embedded.smtp", "--port", "0", "--dir", "{tmp}/mail"],
    "demo dns": ["-m", "notices.demo.dns", "--port", "0"],
    "demo web": ["-m", "notices.demo.web", "--port", "0", "--control-port", "0"],
}
ROUNDS = 5


def _command(name: str, tmp_path: Path) -> list[str]:
    return [sys.executable, *(arg.format(tmp=tmp_path) for arg in SERVERS[name])]


def _ignore_stop_signals() -> None:
    """As a background job of a non-interactive shell starts: SIGINT (and here SIGTERM too) ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


@pytest.mark.parametrize("name", sorted(SERVERS))
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_right_after_listening_line_stops_with_status_0(name, signum, tmp_path):
    for _ in range(ROUNDS):
        proc = subprocess.Popen(
            _command(name, tmp_path),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=_ignore_stop_signals,
        )
        try:
            line = proc.stdout.readline()
            proc.send_signal(signum)
            assert "listening" in line
            assert proc.wait(timeout=10) == 0
        finally:
            _kill(proc)


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _blocked_in_pipe_write(pid: int) -> bool:
    try:
        return "pipe_write" in Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="needs Linux /proc/<pid>/wchan")
@pytest.mark.parametrize("name", sorted(SERVERS))
def test_sigterm_while_announcing_stops_with_status_0(name, tmp_path):
    """Hold the server inside its "listening" write (stdout is a full pipe), signal it there, then drain:
    a server that installs its handler only after announcing dies of the signal instead."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETFL, os.O_NONBLOCK)
    filler = 0
    try:
        while True:
            filler += os.write(write_end, b"\n" * 4096)
    except BlockingIOError:
        pass
    fcntl.fcntl(write_end, fcntl.F_SETFL, 0)
    proc = subprocess.Popen(_command(name, tmp_path), cwd=ROOT, stdout=write_end)
    os.close(write_end)
    try:
        deadline = time.monotonic() + 30
        while not _blocked_in_pipe_write(proc.pid):
            assert proc.poll() is None, "the server exited before it announced itself"
            assert time.monotonic() < deadline, "the server never wrote its listening line"
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        with os.fdopen(read_end, "rb") as reader:
            output = reader.read()
        assert proc.wait(timeout=15) == 0
    finally:
        _kill(proc)
    assert b"listening" in output[filler:]
