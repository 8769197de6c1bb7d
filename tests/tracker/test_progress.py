"""Progress bars write a bounded number of lines when the output is not a terminal (a pipe, a log, CI)."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tracker.progress import progress_bar

ROOT = Path(__file__).resolve().parents[2]

# A benchmark-style loop of ~3 s through the harness's progress(), as `make bench` runs them.
LOOP = """
import time
from benchmarks.harness import progress
for _ in progress(range(300), desc="loop", unit="row"):
    time.sleep(0.01)
"""


def _records(output: str) -> list[str]:
    """What a log viewer shows: every carriage return or newline starts a new line."""
    return [line for line in re.split(r"[\r\n]", output) if line.strip()]


def test_progress_to_a_pipe_writes_a_line_per_interval_not_per_update():
    env = {**os.environ, "PROGRESS_INTERVAL": "1"}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", LOOP],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    seconds = time.monotonic() - started
    lines = _records(result.stdout + result.stderr)
    assert len(lines) <= seconds / 1 + 2, lines
    assert lines, "a loop longer than the interval says how far it got"
    assert all(line.startswith("loop: ") for line in lines), lines
    assert "300/300" in lines[-1]


def test_progress_to_a_pipe_is_silent_for_a_short_loop():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from benchmarks.harness import progress\nfor _ in progress(range(10**5)): pass",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert _records(result.stdout + result.stderr) == []


@pytest.mark.parametrize("enabled", [None, True])
def test_manual_updates_to_a_non_terminal_stream_are_bounded(monkeypatch, enabled):
    monkeypatch.setenv("PROGRESS_INTERVAL", "0.2")
    stream = io.StringIO()
    bar = progress_bar(total=10_000, desc="file.gz", unit="B", unit_scale=True, file=stream, enabled=enabled)
    started = time.monotonic()
    for _ in range(10_000):
        bar.update(1)
        time.sleep(0.0001)
    bar.close()
    seconds = time.monotonic() - started
    lines = _records(stream.getvalue())
    assert "\r" not in stream.getvalue()
    assert len(lines) <= seconds / 0.2 + 2, lines


def test_progress_disabled_writes_nothing():
    stream = io.StringIO()
    for _ in progress_bar(range(1000), file=stream, enabled=False):
        pass
    assert stream.getvalue() == ""


def test_progress_on_a_terminal_is_a_live_bar():
    leader, follower = pty.openpty()
    with os.fdopen(follower, "w") as terminal:
        bar = progress_bar(range(3), desc="live", file=terminal)
        assert not bar.disable
        list(bar)
    os.close(leader)
