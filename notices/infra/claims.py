"""Claiming due rows so any number of workers can share a queue: one statement, built here for every queue.

    WITH due AS MATERIALIZED (
        SELECT key FROM table WHERE <due> [AND key = ANY(ids)]
        ORDER BY <order_by> LIMIT n FOR NO KEY UPDATE SKIP LOCKED)
    UPDATE table AS t SET <assign> FROM due [, <join>]
    WHERE t.key = due.key [AND <join_on>] RETURNING <returning>

`FOR NO KEY UPDATE SKIP LOCKED` lets claimers run at once without blocking or overlap: a row another
transaction is claiming (or updating) is skipped, not waited for. It is the lock the claim's own UPDATE takes,
and not FOR UPDATE: that one also conflicts with the KEY SHARE locks of foreign-key checks, so a row would be
skipped while any transaction inserts a row naming it (an event of a case, say) and a due case could miss a
sweep for nothing. The claim itself writes what makes the row not due any more (a
`claimed_until` in the future, a status, a cleared schedule), so a claim is over when that transaction
commits, and one whose worker died expires by the due condition (e.g. `claimed_until < now`), which
`pending_or_expired` spells for the status-and-lease queues. The due rows are picked in a MATERIALIZED CTE,
run exactly once: as a plain subquery the planner may rescan it per joined row, and each rescan skips the rows
this statement just claimed and locks `limit` more.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from django.db import connection, connections
from django.utils import timezone


def pending_or_expired(due_column: str = "next_attempt_at") -> str:
    """The due condition of a queue with a status and a lease: pending and due at `%(now)s`, or `sending`
    under a claim (`claimed_until`) that expired — its worker died or gave up, so it is taken again."""
    return (
        f"((status = 'pending' AND {due_column} <= %(now)s) "
        f"OR (status = 'sending' AND claimed_until < %(now)s))"
    )


def claim(
    *,
    table: str,
    due: str,
    order_by: str,
    assign: str,
    limit: int,
    params: Mapping[str, object],
    key: str = "id",
    returning: str | None = None,
    join: str = "",
    join_on: str = "",
    only: Sequence[int] | None = None,
    using: str = "default",
) -> list[tuple]:
    """Claim up to `limit` due rows of `table` and return the RETURNING rows (by default `(key,)` each).

    `due` and `order_by` are SQL over the table's bare columns, `assign` (the SET clause) over the alias `t`
    (e.g. `attempts = t.attempts + 1`); all take `params` by name (`%(now)s`); `limit` and `only` fill
    `%(limit)s` and `%(only)s`. `join`/`join_on` add tables to the UPDATE's FROM so `returning` can name their
    columns (they are read, not locked). `only` restricts the claim to those keys (still only when due).
    """
    restrict = f" AND {key} = ANY(%(only)s)" if only is not None else ""
    sql = (
        f"WITH due AS MATERIALIZED ("
        f"SELECT {key} FROM {table} WHERE ({due}){restrict} "
        f"ORDER BY {order_by} LIMIT %(limit)s FOR NO KEY UPDATE SKIP LOCKED) "
        f"UPDATE {table} AS t SET {assign} FROM due{f', {join}' if join else ''} "
        f"WHERE t.{key} = due.{key}{f' AND {join_on}' if join_on else ''} "
        f"RETURNING {returning or f't.{key}'}"
    )
    with connections[using].cursor() as cursor:
        cursor.execute(sql, {**params, "limit": limit, "only": list(only or [])})
        return cursor.fetchall()


# --- Owners and heartbeats: leases a live worker renews -----------------------------------------------------
#
# A queue whose work takes a worker a while (an SMTP conversation, a webhook POST, a batch of them) claims its
# rows with a short lease and the claimer's name (`claimed_by = owner()`); a thread of the claiming process
# renews every lease it holds each third of the lease (`start_heartbeat`). A worker that dies stops renewing,
# so its claims come back to the sweeps within one lease (seconds), not after a timeout long enough for the
# slowest piece of work. Rows a worker holds locked (it is in the middle of sending one) are skipped by the
# renewal: nobody can claim a locked row anyway.

_OWNER: tuple[int, str] | None = None
_HEARTBEATS: dict[str, threading.Thread] = {}
_HEARTBEAT_LOCK = threading.Lock()
logger = logging.getLogger(__name__)


def owner() -> str:
    """This process's name on its claims: host, pid and a random token (a pid can be reused after a crash;
    a process forked from another gets a name of its own)."""
    global _OWNER
    pid = os.getpid()
    if _OWNER is None or _OWNER[0] != pid:
        _OWNER = (pid, f"{socket.gethostname()}:{pid}:{secrets.token_hex(4)}")
    return _OWNER[1]


def renew_leases(*, table: str, lease: timedelta, holder: str, now: datetime, using: str = "default") -> int:
    """Move the lease of every `sending` row of `table` that `holder` claimed to `now + lease`, skipping rows
    locked by a transaction; returns how many were renewed."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} SET claimed_until = %(until)s WHERE id IN (
                    SELECT id FROM {table} WHERE claimed_by = %(holder)s AND status = 'sending'
                    FOR NO KEY UPDATE SKIP LOCKED)""",
            {"until": now + lease, "holder": holder},
        )
        return cursor.rowcount


def start_heartbeat(table: str, lease: timedelta) -> None:
    """Renew this process's leases on `table` every third of `lease` from a daemon thread, started once per
    process (and again in a forked child, where threads do not survive). Only worker processes call this
    (`tracker.celery` turns it on): a test or command that claims in-process holds its lease without one."""
    if not _HEARTBEATS_ENABLED:
        return
    key = f"{os.getpid()}:{table}"
    with _HEARTBEAT_LOCK:
        if key in _HEARTBEATS and _HEARTBEATS[key].is_alive():
            return
        thread = threading.Thread(
            target=_beat, args=(table, lease, owner()), name=f"lease-heartbeat-{table}", daemon=True
        )
        _HEARTBEATS[key] = thread
        thread.start()


_HEARTBEATS_ENABLED = False


def enable_heartbeats() -> None:
    """Worker processes renew their leases (see `start_heartbeat`)."""
    global _HEARTBEATS_ENABLED
    _HEARTBEATS_ENABLED = True


def _beat(table: str, lease: timedelta, holder: str) -> None:
    interval = max(lease.total_seconds() / 3, 0.2)
    while True:
        time.sleep(interval)
        try:
            renew_leases(table=table, lease=lease, holder=holder, now=timezone.now())
        except Exception as exc:  # the database is away: the lease runs out, another worker takes over
            logger.warning("renewing leases on %s failed: %s", table, exc)
            connection.close()  # this thread's own connection
