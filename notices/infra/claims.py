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

from collections.abc import Mapping, Sequence

from django.db import connections


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
