"""Which URLs are due for a check, and claiming them so no two workers check one URL at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from notices.models import Url


@dataclass(frozen=True)
class ClaimedUrl:
    url_id: int
    canonical: str
    provider_id: int | None
    first_gone_vantage: str = ""


def claim_due(*, now: datetime, limit: int, url_ids: list[int] | None = None) -> list[ClaimedUrl]:
    """Claim up to `limit` due URLs (or exactly `url_ids` if given and due) with a conditional UPDATE.

    `FOR UPDATE SKIP LOCKED` lets any number of workers claim concurrently without blocking or overlap;
    the claim pushes `next_check_at` out by CHECK_CLAIM_TIMEOUT, so a claim a crashed worker never finished
    becomes due again by itself. Recording the observation sets the real next time. The due rows are picked
    in a MATERIALIZED CTE, run exactly once: as a plain subquery the planner may rescan it per joined row, and
    each rescan skips the rows this statement just claimed and locks `limit` more.
    """
    table = Url._meta.db_table
    until = now + timedelta(seconds=settings.CHECK_CLAIM_TIMEOUT)
    only = "AND id = ANY(%(ids)s)" if url_ids is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH due AS MATERIALIZED (
                    SELECT id FROM {table}
                    WHERE next_check_at IS NOT NULL AND next_check_at <= %(now)s {only}
                    ORDER BY next_check_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
                UPDATE {table} AS u SET check_claimed_until = %(until)s, next_check_at = %(until)s
                FROM due WHERE u.id = due.id
                RETURNING u.id, u.canonical, u.provider_id, u.first_gone_vantage""",
            {"until": until, "now": now, "limit": limit, "ids": url_ids or []},
        )
        return [ClaimedUrl(*row) for row in cursor.fetchall()]


def cadence(*, first_notice_sent_at: datetime | None, now: datetime) -> timedelta:
    """Interval to the next routine check: often at first, then less (settings CHECK_INTERVAL_*)."""
    age = now - (first_notice_sent_at or now)
    if age < timedelta(days=1):
        return timedelta(seconds=settings.CHECK_INTERVAL_FIRST_DAY)
    if age < timedelta(days=7):
        return timedelta(seconds=settings.CHECK_INTERVAL_FIRST_WEEK)
    return timedelta(seconds=settings.CHECK_INTERVAL_LATER)
