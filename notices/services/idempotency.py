"""Idempotent report submission: a client that retries with the same `Idempotency-Key` gets the first answer
again, never a second set of reports.

The key is reserved (INSERT … ON CONFLICT DO NOTHING on the unique (owner, key)) in the same transaction that
records the reports, and the answer is stored in it before it commits. A concurrent retry with the same key
waits on that row: when the first commits it reads the stored answer; when the first fails (a 400, an error)
its reservation rolls back with it and the retry does the work itself. Keys are scoped per owner (a partner,
or a staff user), so two partners can never see or block each other's keys.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime

from django.db import connection, transaction

from notices.models import IdempotentRequest

KEY_MAX_LENGTH = 200


class IdempotencyConflict(Exception):
    """The key was used before for a different request (another body or endpoint)."""


def key_problem(key: str) -> str | None:
    """Why `key` cannot be an Idempotency-Key, or None: 1–200 visible ASCII characters."""
    if not 1 <= len(key) <= KEY_MAX_LENGTH or not all(" " < c <= "~" for c in key):
        return f"Idempotency-Key must be 1 to {KEY_MAX_LENGTH} visible ASCII characters (no spaces)."
    return None


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def run_once(
    *, owner: str, key: str, path: str, digest: str, now: datetime, work: Callable[[], tuple[int, dict]]
) -> tuple[int, dict, bool]:
    """(status, body, replayed): run `work` (which returns the answer) once per (owner, key), or give the
    answer stored by the run that did. Raises IdempotencyConflict when the key was used for another request;
    whatever `work` raises propagates and leaves the key unused."""
    table = IdempotentRequest._meta.db_table
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {table} (owner, key, path, body_hash, status_code, response, created_at)
                    VALUES (%s, %s, %s, %s, 0, 'null', %s)
                    ON CONFLICT (owner, key) DO NOTHING RETURNING id""",
                [owner, key, path, digest, now],
            )
            reserved = cursor.fetchone()
        if reserved is not None:
            status, body = work()
            stored = json.loads(json.dumps(body, default=str))  # as the client received it
            IdempotentRequest.objects.filter(pk=reserved[0]).update(status_code=status, response=stored)
            return status, body, False
    earlier = IdempotentRequest.objects.get(owner=owner, key=key)
    if (earlier.path, earlier.body_hash) != (path, digest):
        raise IdempotencyConflict(
            "This Idempotency-Key was used for a different request (another body or endpoint); a new "
            "request needs a new key."
        )
    return earlier.status_code, earlier.response, True
