"""The blocking list for partners that block while content stays up (`GET /api/v1/blocklist/`).

On the list: every case still up (notified, its notice open) whose escalation ladder referred it to an
authority (a referral step done: law enforcement or the Digital Services Coordinator — the default ladder's
7-day rung), unless it is under a law-enforcement hold (telling anyone could tip the suspects off). A case
leaves the list when it is removed, closed, held or no longer in an open notice.

The list is kept in `BlocklistEntry` rows, brought up to date by `sync` (two statements, serialised by an
advisory lock) before each pull: an entry added or removed gets `changed_at`, so an incremental pull
(`since`) returns what was added and what was removed after that time. Entries carry the SHA-256 of the
canonical URL (hex); the plain URL only for a key of the dedicated scope.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction

from notices.enums import StepAction, StepRunStatus, StopKind, UrlStatus
from notices.models import BlocklistEntry, ClockStop, Escalation, NoticeItem, StepRun, Url

REFERRALS = [StepAction.REFER_LAW_ENFORCEMENT.value, StepAction.REFER_DSC.value]
_LOCK = 0x5170  # advisory lock: one sync at a time


def sync(*, now: datetime) -> None:
    """Bring the entries up to date with the cases (see the module docstring)."""
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
        cursor.execute(
            f"""INSERT INTO {table} AS b (url_id, sha256, added_at, removed_at, changed_at)
                SELECT u.id, encode(sha256(convert_to(u.canonical, 'UTF8')), 'hex'), %(now)s, NULL, %(now)s
                FROM ({live}) AS l JOIN {Url._meta.db_table} AS u ON u.id = l.url_id
                ON CONFLICT (url_id) DO UPDATE
                    SET removed_at = NULL, added_at = EXCLUDED.added_at, changed_at = EXCLUDED.changed_at
                    WHERE b.removed_at IS NOT NULL""",
            params,
        )
        cursor.execute(
            f"""UPDATE {table} SET removed_at = %(now)s, changed_at = %(now)s
                WHERE removed_at IS NULL AND url_id NOT IN ({live})""",
            params,
        )


def pull(*, now: datetime, since: datetime | None = None, plain: bool = False) -> dict:
    """The list as of now: every entry on it (`since` None), or the entries added and removed after `since`.
    `etag` names this state of the list (the same for the same entries)."""
    sync(now=now)
    entries = BlocklistEntry.objects.order_by("changed_at", "pk")
    window = {"changed_at__gt": since} if since is not None else {"removed_at": None}
    entries = entries.filter(**window)
    rows = list(entries.select_related("url") if plain else entries)
    added = [_entry(e, plain) for e in rows if e.removed_at is None]
    removed = [{"sha256": e.sha256, "removed_at": e.removed_at} for e in rows if e.removed_at is not None]
    last = BlocklistEntry.objects.order_by("-changed_at").values_list("changed_at", flat=True).first()
    live = BlocklistEntry.objects.filter(removed_at=None).count()
    etag = f'"{live}-{int(last.timestamp() * 1_000_000) if last else 0}-{"u" if plain else "h"}"'
    return {
        "format": "url" if plain else "sha256",
        "generated_at": now,
        "since": since,
        "count": live,
        "entries": added,
        "removed": removed,
        "etag": etag,
    }


def _entry(entry: BlocklistEntry, plain: bool) -> dict:
    row = {"sha256": entry.sha256, "added_at": entry.added_at}
    if plain:
        row["url"] = entry.url.canonical
    return row
