"""The blocking list for partners that block while content stays up (`GET /api/v1/blocklist/`).

On the list: every case still up (notified, its notice open) whose escalation ladder referred it to an
authority (a referral step done: law enforcement or the Digital Services Coordinator — the default ladder's
7-day rung), unless it is under a law-enforcement hold (telling anyone could tip the suspects off). A case
leaves the list when it is removed, closed, held or no longer in an open notice.

The list is kept in `BlocklistEntry` rows, brought up to date by `sync` (two statements, serialised by an
advisory lock) before each pull: an entry added or removed gets `changed_at`, so an incremental pull
(`since`) returns what was added and what was removed after that time. Entries carry the SHA-256 of the
canonical URL (hex); the plain URL only for a key of the dedicated scope. Pulls come in pages (`pull`: keyset
pagination with signed cursors, consistent under concurrent changes).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from django.core import signing
from django.db import connection, transaction
from django.db.models import Q

from notices.enums import StepAction, StepRunStatus, StopKind, UrlStatus
from notices.models import BlocklistEntry, ClockStop, Escalation, NoticeItem, StepRun, Url

REFERRALS = [StepAction.REFER_LAW_ENFORCEMENT.value, StepAction.REFER_DSC.value]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LOCK = 0x5170  # advisory lock: one sync at a time


def sync(*, now: datetime) -> datetime:
    """Bring the entries up to date with the cases (see the module docstring). Returns the `changed_at` it
    gave (or would have given) a change: under the lock, so a later sync's is later and a pull reading up
    to it (`changed_at <= it`) leaves every later change to the next pull."""
    live = f"""
        SELECT DISTINCT e.url_id FROM {Escalation._meta.db_table} AS e
        JOIN {StepRun._meta.db_table} AS r ON r.id = e.run_id
        JOIN {NoticeItem._meta.db_table} AS i
          ON i.notice_id = e.notice_id AND i.url_id = e.url_id AND i.is_open
        JOIN {Url._meta.db_table} AS u ON u.id = e.url_id
        WHERE r.action = ANY(%(referrals)s) AND r.status = %(done)s AND u.status = %(notified)s
          AND NOT EXISTS (
              SELECT 1 FROM {ClockStop._meta.db_table} AS s
              WHERE s.url_id = e.url_id AND s.kind = %(hold)s AND s.started_at <= %(now)s
                AND s.ended_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > %(now)s))"""
    params = {
        "referrals": REFERRALS,
        "done": StepRunStatus.DONE.value,
        "notified": UrlStatus.NOTIFIED.value,
        "hold": StopKind.HOLD.value,
        "now": now,
    }
    table = BlocklistEntry._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        cursor.execute("SELECT GREATEST(%s, clock_timestamp())", [now])
        params["stamp"] = stamp = cursor.fetchone()[0]
        cursor.execute(
            f"""INSERT INTO {table} AS b (url_id, sha256, added_at, removed_at, changed_at)
                SELECT u.id, encode(sha256(convert_to(u.canonical, 'UTF8')), 'hex'), %(now)s, NULL, %(stamp)s
                FROM ({live}) AS l JOIN {Url._meta.db_table} AS u ON u.id = l.url_id
                ON CONFLICT (url_id) DO UPDATE
                    SET removed_at = NULL, added_at = EXCLUDED.added_at, changed_at = EXCLUDED.changed_at
                    WHERE b.removed_at IS NOT NULL""",
            params,
        )
        cursor.execute(
            f"""UPDATE {table} SET removed_at = %(now)s, changed_at = %(stamp)s
                WHERE removed_at IS NULL AND url_id NOT IN ({live})""",
            params,
        )
    return stamp


DEFAULT_LIMIT = 1000  # entries (added and removed together) on a page
MAX_LIMIT = 10_000
_SALT = "blocklist-cursor"


class CursorError(ValueError):
    """A cursor this list did not make, or one of another pull (`since`): the message is the field's."""


def read_cursor(cursor: str, *, since: datetime | None) -> dict:
    """The position an opaque cursor names (signed: a client cannot forge one). Raises CursorError."""
    try:
        position = signing.loads(cursor, salt=_SALT)
    except signing.BadSignature:
        raise CursorError("Not a cursor of this list: use a `next` or `previous` link as given.") from None
    if not isinstance(position, dict) or position.get("v") != 1:
        raise CursorError("Not a cursor of this list: use a `next` or `previous` link as given.")
    if since is not None and _us(since) != position.get("since"):
        raise CursorError("This cursor belongs to a pull with another `since`; follow the links as given.")
    return position


def pull(
    *,
    now: datetime,
    since: datetime | None = None,
    plain: bool = False,
    limit: int = DEFAULT_LIMIT,
    cursor: dict | None = None,
) -> dict:
    """One page of the list (see the module docstring): every entry on it (`since` None), or the entries
    added and removed after `since`, at most `limit` of them, from where `cursor` (`read_cursor`) points.

    Keyset pagination that holds under concurrent changes: a pull's pages share its first page's time
    (`generated_at`, carried in the cursors as the window's end), and no page shows an entry changed after
    it — such an entry comes with the next incremental pull (`since` = that `generated_at`). The full list
    is walked by entry id, an incremental pull by (`changed_at`, id): an entry that stays where it is keeps
    its place, so none that stayed is shown twice or skipped. `next_cursor` / `previous_cursor` are None
    where there is no such page; `etag` names this page's content (format, entries, whether pages follow
    and precede)."""
    stamp = sync(now=now)
    until = _from_us(cursor["until"]) if cursor else stamp
    since = _from_us(cursor["since"]) if cursor and cursor["since"] is not None else since
    entries = BlocklistEntry.objects.filter(changed_at__lte=until)
    if since is None:
        entries, key = entries.filter(removed_at=None), ("pk",)
    else:
        entries, key = entries.filter(changed_at__gt=since), ("changed_at", "pk")
    backwards = bool(cursor) and cursor["dir"] == "prev"
    if cursor:
        at = tuple(
            _from_us(v) if name == "changed_at" else v for name, v in zip(key, cursor["at"], strict=True)
        )
        entries = entries.filter(_beyond(key, at, before=backwards))
    order = [f"-{name}" if backwards else name for name in key]
    rows = list((entries.select_related("url") if plain else entries).order_by(*order)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    has_next, has_previous = (True, more) if backwards else (more, bool(cursor))
    base = {"v": 1, "until": _us(until), "since": _us(since) if since is not None else None}
    next_cursor = previous_cursor = None
    if rows and has_next:
        next_cursor = signing.dumps({**base, "dir": "next", "at": _key(rows[-1], key)}, salt=_SALT)
    if rows and has_previous:
        previous_cursor = signing.dumps({**base, "dir": "prev", "at": _key(rows[0], key)}, salt=_SALT)
    page = [(e.pk, _us(e.changed_at), e.removed_at is not None) for e in rows]
    digest = hashlib.sha256(
        json.dumps([plain, since is not None, page, has_next, has_previous]).encode()
    ).hexdigest()[:32]
    return {
        "format": "url" if plain else "sha256",
        "generated_at": until,
        "since": since,
        "count": BlocklistEntry.objects.filter(removed_at=None).count(),
        "limit": limit,
        "entries": [_entry(e, plain) for e in rows if e.removed_at is None],
        "removed": [
            {"sha256": e.sha256, "removed_at": e.removed_at} for e in rows if e.removed_at is not None
        ],
        "next_cursor": next_cursor,
        "previous_cursor": previous_cursor,
        "etag": f'"{digest}-{"u" if plain else "h"}"',
    }


def _beyond(key: tuple[str, ...], at: tuple, *, before: bool) -> Q:
    """The entries after (or before) `at` in the order of `key`."""
    op = "lt" if before else "gt"
    if len(key) == 1:
        return Q(**{f"pk__{op}": at[0]})
    return Q(**{f"changed_at__{op}": at[0]}) | Q(changed_at=at[0], **{f"pk__{op}": at[1]})


def _key(entry: BlocklistEntry, key: tuple[str, ...]) -> list:
    return [_us(entry.changed_at) if name == "changed_at" else entry.pk for name in key]


def _us(at: datetime) -> int:
    """A time as whole microseconds since the epoch (exact in a cursor)."""
    return int((at - EPOCH) / timedelta(microseconds=1))


def _from_us(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(value))


def _entry(entry: BlocklistEntry, plain: bool) -> dict:
    row = {"sha256": entry.sha256, "added_at": entry.added_at}
    if plain:
        row["url"] = entry.url.canonical
    return row
