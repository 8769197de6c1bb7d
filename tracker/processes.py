"""Stopping processes we started, with everything they started: one way, for the supervisor and the
benchmarks.

A process started with `start_new_session=True` leads a process group of its own; its children (gunicorn's and
Celery's workers) share that group, so signalling the group reaches them even after the leader died.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterable

POLL_SECONDS = 0.05


def signal_group(pgid: int, signum: int) -> bool:
    """Send `signum` to process group `pgid`; False once nothing of the group is left that we may signal."""
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):  # gone, or not ours: nothing we could wait for
        return False
    return True


def leads_group(proc: subprocess.Popen) -> bool:
    try:
        return os.getpgid(proc.pid) == proc.pid
    except ProcessLookupError:
        return False


def stop_groups(procs: Iterable[subprocess.Popen], *, grace: float) -> None:
    """SIGTERM the groups led by `procs`, SIGKILL whatever of them is left after `grace` seconds, and return
    once every group is empty (the leaders reaped, their children gone too)."""
    procs = list(procs)
    for proc in procs:
        signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
        while signal_group(proc.pid, 0):  # the leader is gone; its own children may not be yet
            if time.monotonic() > deadline:
                signal_group(proc.pid, signal.SIGKILL)
            time.sleep(POLL_SECONDS)


def stop_process(proc: subprocess.Popen, *, grace: float) -> None:
    """Stop one process: its whole group when it leads one, else the process alone; SIGKILL after `grace`."""
    if proc.poll() is None and leads_group(proc):
        stop_groups([proc], grace=grace)
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
