"""`make run`'s supervisor starts the whole stack and stops every process it started."""

from __future__ import annotations

import json
import os
import shutil
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
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "CELERY_BROKER_URL",
            "EMAIL_URL",
            "EMAIL_HOST",
            "DNS_RESOLVER",
            "XDG_RUNTIME_DIR",
        }
    }
    env.update(
        TRACKER_VAR_DIR=str(tmp_path / "var"),
        PORT=str(port),
        SMTP_SINK_PORT=str(free_port()),
        DEMO_DNS_PORT="0",
        DEMO_WEB_PORT="0",
        DEMO_WEB_CONTROL_PORT="0",
        PYTHONUNBUFFERED="1",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracker.supervisor"],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
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


# --- signals and deaths: the supervisor stops everything it started -----------------------------------------

SIGNAL_BITS = {signal.SIGINT: 1 << (signal.SIGINT - 1), signal.SIGTERM: 1 << (signal.SIGTERM - 1)}


@pytest.fixture(scope="module")
def shared_var():
    """One var dir for the tests below: the second and later starts reuse its database (no initdb). Under
    var/test, not pytest's tmp dirs: another pytest run on the machine prunes those, a data directory
    under a running server included."""
    path = ROOT / "var" / "test" / f"supervisor-{os.getpid()}" / "var"
    shutil.rmtree(path.parent, ignore_errors=True)
    yield path
    shutil.rmtree(path.parent, ignore_errors=True)


def _start_supervisor(
    var: Path, *, ignore_sigint: bool = False, **extra_env: str
) -> tuple[subprocess.Popen, str, int]:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "CELERY_BROKER_URL",
            "EMAIL_URL",
            "EMAIL_HOST",
            "DNS_RESOLVER",
            "XDG_RUNTIME_DIR",
        }
    }
    env.update(
        TRACKER_VAR_DIR=str(var),
        PORT=str(port),
        SMTP_SINK_PORT="0",
        DEMO_DNS_PORT="0",
        DEMO_WEB_PORT="0",
        DEMO_WEB_CONTROL_PORT="0",
        PYTHONUNBUFFERED="1",
        SUPERVISOR_RESTART_BACKOFF="0.5",
        **extra_env,
    )

    def inherit_ignored_sigint() -> None:  # what a background job of a non-interactive shell gets
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    proc = subprocess.Popen(
        [sys.executable, "-m", "tracker.supervisor"],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=inherit_ignored_sigint if ignore_sigint else None,
    )
    try:
        output = read_until(proc, "Press Ctrl-C", timeout=180)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return proc, output, port


def _started_processes(proc: subprocess.Popen, var: Path) -> tuple[dict, list[psutil.Process]]:
    state = json.loads((var / "supervisor.json").read_text())
    assert {"web", "worker", "beat"} == set(state["children"])
    assert {"postgres", "broker"} == set(state["services"])
    pids = [*state["children"].values(), *state["services"].values()]
    processes = [psutil.Process(pid) for pid in pids]
    processes += psutil.Process(proc.pid).children(recursive=True)
    return state, processes


def _ignored_signals(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return int(line.split()[1], 16)
    raise AssertionError(f"no SigIgn line for {pid}")


def _assert_everything_stopped(var: Path, processes: list[psutil.Process]) -> None:
    _, alive = psutil.wait_procs(processes, timeout=10)
    assert alive == []
    left = [
        p.info
        for p in psutil.process_iter(["pid", "cmdline"])
        if str(var) in " ".join(p.info["cmdline"] or [])
    ]
    assert left == []


def _finish(proc: subprocess.Popen, timeout: float = 60) -> str:
    try:
        return proc.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        rest = proc.communicate()[0]
        raise AssertionError(f"the supervisor did not stop within {timeout} s:\n{rest[-4000:]}") from None


def test_supervisor_stops_on_sigint_even_when_sigint_was_inherited_ignored(shared_var):
    proc, _, port = _start_supervisor(shared_var, ignore_sigint=True)
    try:
        state, processes = _started_processes(proc, shared_var)
        assert _ignored_signals(proc.pid) & SIGNAL_BITS[signal.SIGINT] == 0
        for name, pid in state["children"].items():  # the children start with the default disposition
            assert _ignored_signals(pid) & (SIGNAL_BITS[signal.SIGINT] | SIGNAL_BITS[signal.SIGTERM]) == 0, (
                name
            )
    finally:
        proc.send_signal(signal.SIGINT)
        output = _finish(proc)
    assert proc.returncode == 0, output
    assert "Stopped." in output
    _assert_everything_stopped(shared_var, processes)
    with pytest.raises(OSError):
        get(f"http://127.0.0.1:{port}/healthz")


def _pids(var: Path) -> dict[str, int]:
    state = json.loads((var / "supervisor.json").read_text())
    return {**state["children"], **state["services"]}


def _wait_ready(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if get(f"http://127.0.0.1:{port}/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"/readyz not 200 within {timeout} s")


@pytest.mark.parametrize("name", ["worker", "postgres", "broker"])
def test_supervisor_restarts_a_killed_process_and_the_stack_works_again(shared_var, name):
    """kill -9 of the Celery worker's main process (its pool is stopped with it), of the embedded
    postmaster, of the broker: the supervisor restarts it after a backoff and the stack answers again."""
    proc, _, port = _start_supervisor(shared_var)
    try:
        _, processes = _started_processes(proc, shared_var)
        killed = psutil.Process(_pids(shared_var)[name])
        left_behind = killed.children(recursive=True)  # a prefork pool, postgres backends
        killed.kill()
        output = read_until(proc, f"Restarted {name}.", timeout=90)
        assert "!!!" in output and f"Restarting {name} in 0.5 s" in output
        new_pid = _pids(shared_var)[name]
        assert new_pid != killed.pid and psutil.pid_exists(new_pid)
        _, alive = psutil.wait_procs(left_behind, timeout=15)
        assert alive == []
        _wait_ready(port)
        _, processes_now = _started_processes(proc, shared_var)
    finally:
        proc.send_signal(signal.SIGTERM)
        output = _finish(proc)
    assert proc.returncode == 0, output
    _assert_everything_stopped(shared_var, processes + processes_now)


def test_supervisor_stops_everything_loudly_after_repeated_deaths(shared_var):
    proc, _, port = _start_supervisor(shared_var, SUPERVISOR_RESTART_LIMIT="1")
    try:
        _, processes = _started_processes(proc, shared_var)
        os.kill(_pids(shared_var)["beat"], signal.SIGKILL)
        read_until(proc, "Restarted beat.", timeout=30)
        processes += _started_processes(proc, shared_var)[1]
        os.kill(_pids(shared_var)["beat"], signal.SIGKILL)
        killed = time.monotonic()
        output = read_until(proc, "Stopping everything", timeout=30)
        noticed = time.monotonic() - killed
    except BaseException:
        proc.send_signal(signal.SIGTERM)
        _finish(proc)
        raise
    output += _finish(proc)
    assert noticed < 10, output  # watched every 0.5 s; the margin is for a busy machine
    assert "!!!" in output and "died 2 times within 60 s; not restarting it again" in output
    assert proc.returncode == 1, output
    assert "Stopped." in output
    _assert_everything_stopped(shared_var, processes)
    with pytest.raises(OSError):
        get(f"http://127.0.0.1:{port}/healthz")
