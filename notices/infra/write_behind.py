"""Write-behind: INSERTs that run in the current transaction while this thread goes on with other work.

A batch that queues a thousand notices spends half its time rendering templates (Python) and half waiting for
PostgreSQL to insert the rows and check their foreign keys. The two need not wait for each other:
`WriteBehind` hands statements to a helper thread that runs them, in order, on the same database connection,
so in the same transaction, while the calling thread renders the next mails. The driver serialises the
connection between the two threads and releases the GIL while it waits for the server, so the server's work
and the rendering overlap on two cores.

Rules for callers:
- Only statements whose results nobody reads go through `execute` (INSERTs without RETURNING: ids come from
  the sequences beforehand, see `allocate_ids`).
- A read that depends on those rows calls `wait()` first; leaving the block waits for everything.
- The first failing statement stops the rest; its error (a `django.db` error, as the ORM raises) is raised on
  the calling thread by the next `execute`, by `wait()` or on leaving the block, and the enclosing
  `transaction.atomic()` rolls back as usual.

Inside the block the transaction's deferrable constraints are checked at the end of each statement (`SET
CONSTRAINTS ALL IMMEDIATE`), so the foreign-key checks run on the helper thread too instead of all at COMMIT;
leaving the block without error sets them back to deferred, Django's default for every constraint it creates.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence

from django.db import connection

_STOP = object()


class WriteBehind:
    """`with transaction.atomic(), WriteBehind() as writes: writes.execute(sql, params)` (see the module)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._cancelled = False
        self._thread: threading.Thread | None = None

    def __enter__(self) -> WriteBehind:
        if not connection.in_atomic_block:
            raise RuntimeError("WriteBehind needs a transaction: use it inside transaction.atomic()")
        connection.ensure_connection()
        self._raw = connection.connection
        self._thread = threading.Thread(target=self._run, name="write-behind", daemon=True)
        self._thread.start()
        self.execute("SET CONSTRAINTS ALL IMMEDIATE")
        return self

    def execute(self, sql: str, params: Sequence | None = None) -> None:
        """Queue a statement (its results are not read); raises the error of an earlier one."""
        self._raise_error()
        self._jobs.put((sql, params))

    def wait(self) -> None:
        """Block until every queued statement ran; raises the first error."""
        done = threading.Event()
        self._jobs.put(done)
        done.wait()
        self._raise_error()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None and self._error is None:
            self._jobs.put(("SET CONSTRAINTS ALL DEFERRED", None))
        else:
            self._cancelled = True  # the caller failed: what is still queued is not run
        self._jobs.put(_STOP)
        self._thread.join()
        self._raise_error(cause=exc)

    def _raise_error(self, cause: BaseException | None = None) -> None:
        if self._error is not None:
            with connection.wrap_database_errors:  # the driver's error as the ORM raises it
                raise self._error from cause

    def _run(self) -> None:
        with self._raw.cursor() as cursor:
            while (job := self._jobs.get()) is not _STOP:
                if isinstance(job, threading.Event):
                    job.set()
                elif self._error is None and not self._cancelled:
                    try:
                        cursor.execute(*job)
                    except BaseException as error:  # handed to the calling thread
                        self._error = error


def run(sql: str, params: Sequence | None, writes: WriteBehind | None) -> None:
    """Run a statement now, or queue it on `writes` when the caller has one."""
    if writes is not None:
        writes.execute(sql, params)
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def allocate_ids(model, count: int) -> list[int]:
    """`count` new primary keys of `model` from its sequence, ascending (so rows can be inserted without
    RETURNING, by a `WriteBehind`)."""
    if count == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, model._meta.pk.column, count],
        )
        return sorted(value for (value,) in cursor.fetchall())
