"""One import's generation: bare tables loaded by COPY, attached as partitions, activated in one transaction.

Steps (all inside the caller's transaction, so a failure anywhere leaves the previous generation active and
no trace of the new one):
1. insert the RegistryImport row (status `loading`);
2. per table, create `<table>_g<id>` LIKE the partitioned parent, without indexes, with `generation_id`
   defaulting to the new id;
3. COPY rows in chunks of CHUNK_ROWS (memory stays bounded);
4. carry over tables this import does not replace (a RIPE import of only some split files);
5. add the CHECK that lets ATTACH skip its validation scan, attach (PostgreSQL builds the indexes in bulk
   now) and ANALYZE;
6. mark the previous active generation `superseded` and this one `active`.
After commit, `drop_superseded()` drops the old partitions (a short exclusive lock on each parent).
"""

from __future__ import annotations

import io
import logging
import queue
import threading
from datetime import datetime

import psycopg2
from django.db import DatabaseError, OperationalError, connection, transaction

from notices.models import (
    AutNum,
    CountryBlock,
    Inetnum,
    Organisation,
    RegistryImport,
    Role,
    RoutedPrefix,
    RouteObject,
)

logger = logging.getLogger(__name__)

TABLES = {
    "inetnum": Inetnum,
    "organisation": Organisation,
    "role": Role,
    "autnum": AutNum,
    "route": RouteObject,
    "routed": RoutedPrefix,
    "country": CountryBlock,
}
DATASET_TABLES = {
    RegistryImport.Dataset.RIPE: ("inetnum", "organisation", "role", "autnum", "route"),
    RegistryImport.Dataset.PYASN: ("routed",),
    RegistryImport.Dataset.MMDB_ASN: ("routed",),
    RegistryImport.Dataset.MMDB_COUNTRY: ("country",),
    RegistryImport.Dataset.DELEGATED: ("country",),
}
CHUNK_ROWS = 50_000  # rows per COPY statement: a few MB of text at most
QUEUED_CHUNKS = 2  # chunks waiting for the COPY thread: memory stays bounded
INDEX_BUILD_MEMORY = "256MB"  # maintenance_work_mem of the index builds at ATTACH (server memory)
DROP_LOCK_TIMEOUT = "10s"


def partition_name(table: str, generation_id: int) -> str:
    return f"{TABLES[table]._meta.db_table}_g{generation_id}"


def data_columns(table: str) -> list[str]:
    """The columns an importer fills (everything but the sequence id and the generation)."""
    return [f.column for f in TABLES[table]._meta.concrete_fields if f.column not in {"id", "generation_id"}]


class CopyWriter:
    """Runs the COPY statements on a thread of its own, so PostgreSQL ingests a chunk while Python parses on.

    It uses the import transaction's own connection (psycopg2 connections may be shared between threads);
    the importing thread does not use the connection until `close()` has joined the thread.
    """

    def __init__(self) -> None:
        connection.ensure_connection()
        self._connection = connection.connection
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUED_CHUNKS)
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="registry-copy", daemon=True)
        self._thread.start()

    def put(self, sql: str, data: str) -> None:
        self._raise()
        self._queue.put((sql, data))

    def _run(self) -> None:
        with self._connection.cursor() as cursor:
            while (item := self._queue.get()) is not None:
                if self._error is None:
                    try:
                        cursor.copy_expert(item[0], io.StringIO(item[1]))
                    except psycopg2.Error as exc:
                        self._error = exc

    def close(self, *, raise_error: bool = True) -> None:
        """Wait for every queued COPY; re-raise a COPY error as Django's DatabaseError."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if raise_error:
            self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise DatabaseError(str(self._error)) from self._error


class Generation:
    """A generation being loaded. `add()` buffers COPY rows; `activate()` finishes steps 3–6; `abort()` stops
    the COPY thread when the import fails (the caller's transaction rolls everything back)."""

    def __init__(self, *, dataset: str, files: list[str], data_time: datetime, now: datetime) -> None:
        self.record = RegistryImport.objects.create(
            dataset=dataset, data_time=data_time, files=files, started_at=now
        )
        self.tables = DATASET_TABLES[dataset]
        self.counts = dict.fromkeys(self.tables, 0)
        self._buffers: dict[str, list[str]] = {t: [] for t in self.tables}
        self._columns = {t: ", ".join(data_columns(t)) for t in self.tables}
        with connection.cursor() as cursor:
            for table in self.tables:
                self._create_bare_table(cursor, table)
        self._writer = CopyWriter()

    @property
    def id(self) -> int:
        return self.record.pk

    def _create_bare_table(self, cursor, table: str) -> None:
        name, parent = partition_name(table, self.id), TABLES[table]._meta.db_table
        cursor.execute(f"DROP TABLE IF EXISTS {name}")  # left over by a database reset (benchmarks)
        cursor.execute(f"CREATE TABLE {name} (LIKE {parent} INCLUDING DEFAULTS)")
        cursor.execute(f"ALTER TABLE {name} ALTER COLUMN generation_id SET DEFAULT {int(self.id)}")

    def add(self, table: str, rows: list[str]) -> None:
        """Buffer COPY text rows (tab-separated, newline-terminated) for `table`."""
        buffer = self._buffers[table]
        buffer.extend(rows)
        self.counts[table] += len(rows)
        if len(buffer) >= CHUNK_ROWS:
            self._flush(table)

    def _flush(self, table: str) -> None:
        buffer = self._buffers[table]
        if not buffer:
            return
        self._writer.put(
            f"COPY {partition_name(table, self.id)} ({self._columns[table]}) FROM STDIN", "".join(buffer)
        )
        buffer.clear()

    def abort(self) -> None:
        self._writer.close(raise_error=False)

    def activate(self, *, now: datetime, skipped: dict, carry_over: tuple[str, ...] = ()) -> RegistryImport:
        """Steps 3–6: flush, carry over, attach, switch. Returns the now active RegistryImport."""
        for table in self.tables:
            self._flush(table)
        self._writer.close()
        previous = RegistryImport.objects.filter(
            dataset=self.record.dataset, status=RegistryImport.Status.ACTIVE
        )
        previous = previous.select_for_update().first()
        for table in self.tables:
            if table in carry_over and previous is not None:
                self._carry_over(table, previous.pk)
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
            for table in self.tables:
                self._attach(cursor, table)
        if previous is not None:
            RegistryImport.objects.filter(pk=previous.pk).update(status=RegistryImport.Status.SUPERSEDED)
        record = self.record
        record.status, record.finished_at = RegistryImport.Status.ACTIVE, now
        record.counts, record.skipped = self.counts, skipped
        record.save(update_fields=["status", "finished_at", "counts", "skipped"])
        return record

    def _carry_over(self, table: str, previous_id: int) -> None:
        columns = self._columns[table]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {partition_name(table, self.id)} ({columns}) "
                f"SELECT {columns} FROM {TABLES[table]._meta.db_table} WHERE generation_id = %s",
                [previous_id],
            )
            self.counts[table] = cursor.rowcount

    def _attach(self, cursor, table: str) -> None:
        name, parent = partition_name(table, self.id), TABLES[table]._meta.db_table
        cursor.execute(f"ALTER TABLE {name} ADD CONSTRAINT {name}_gen CHECK (generation_id = {int(self.id)})")
        cursor.execute(f"ALTER TABLE {parent} ATTACH PARTITION {name} FOR VALUES IN ({int(self.id)})")
        cursor.execute(f"ANALYZE {name}")


def drop_superseded(dataset: str) -> list[str]:
    """Drop the partitions of this dataset's generations that are no longer active. Returns the tables
    dropped.

    Each drop waits at most DROP_LOCK_TIMEOUT for readers; a table it could not drop is dropped next time.
    """
    stale = set(
        RegistryImport.objects.filter(dataset=dataset)
        .exclude(status__in=[RegistryImport.Status.ACTIVE, RegistryImport.Status.LOADING])
        .values_list("pk", flat=True)
    )
    dropped = []
    for table in DATASET_TABLES[dataset]:
        for name in _partitions(TABLES[table]._meta.db_table):
            if int(name.rsplit("_g", 1)[1]) in stale:
                try:
                    with transaction.atomic(), connection.cursor() as cursor:
                        cursor.execute(f"SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}'")
                        cursor.execute(f"DROP TABLE {name}")
                    dropped.append(name)
                except OperationalError as exc:
                    logger.warning("could not drop %s yet (%s); the next import will", name, exc)
    return dropped


def _partitions(parent: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s ORDER BY c.relname",
            [parent],
        )
        return [row[0] for row in cursor.fetchall()]
