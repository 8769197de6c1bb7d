"""Which URLs are due for a check, and claiming them so no two workers check one URL at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from notices.infra.claims import claim
from notices.models import DueCheck, Url


@dataclass(frozen=True)
class ClaimedUrl:
    url_id: int
    canonical: str
    provider_id: int | None
    first_gone_vantage: str = ""


def claim_due(*, now: datetime, limit: int, url_ids: list[int] | None = None) -> list[ClaimedUrl]:
    """Claim up to `limit` due URLs (or exactly `url_ids` if given and due) with a conditional UPDATE.

    Reads and writes only the narrow due-check queue (DueCheck), never the URL rows. `FOR UPDATE SKIP
    LOCKED` lets any number of workers claim concurrently without blocking or overlap; the claim pushes the
    queue's `due_at` out by CHECK_CLAIM_TIMEOUT, so a claim a crashed worker never finished becomes due again
    by itself. Recording the observation sets `Url.next_check_at` and releases the claim (`release_claims`).
    The statement is `notices.infra.claims.claim`'s; the URL columns come from a join in the same UPDATE.
    """
    until = now + timedelta(seconds=settings.CHECK_CLAIM_TIMEOUT)
    rows = claim(
        table=DueCheck._meta.db_table,
        key="url_id",
        due="due_at <= %(now)s",
        order_by="due_at",
        limit=limit,
        assign="claimed_until = %(until)s, due_at = %(until)s",
        params={"now": now, "until": until},
        only=url_ids,
        join=f"{Url._meta.db_table} AS u",
        join_on="u.id = t.url_id",
        returning="u.id, u.canonical, u.provider_id, u.first_gone_vantage",
    )
    return [ClaimedUrl(*row) for row in rows]


def release_claims(url_ids: list[int]) -> None:
    """The checks of `url_ids` are recorded: their queue rows go back to `Url.next_check_at`.

    The mirror trigger has already done so for every URL whose next time changed; this catches the rest (a
    recorded check whose next time equals the old one), touching only rows still claimed.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {DueCheck._meta.db_table} AS d SET due_at = u.next_check_at, claimed_until = NULL
                FROM {Url._meta.db_table} AS u
                WHERE d.url_id = ANY(%s) AND d.claimed_until IS NOT NULL AND u.id = d.url_id""",
            [url_ids],
        )


# The check cadence after the first notice, one definition for Python (`cadence`) and SQL (`cadence_sql`):
# while the first notice is younger than the bound, checks come every <setting> seconds; the last step has no
# bound.
CADENCE = ((timedelta(days=1), "CHECK_INTERVAL_FIRST_DAY"), (timedelta(days=7), "CHECK_INTERVAL_FIRST_WEEK"),
           (None, "CHECK_INTERVAL_LATER"))  # fmt: skip


def cadence(*, first_notice_sent_at: datetime | None, now: datetime) -> timedelta:
    """Interval to the next routine check: often at first, then less (settings CHECK_INTERVAL_*)."""
    age = now - (first_notice_sent_at or now)
    for bound, setting in CADENCE:
        if bound is None or age < bound:
            return timedelta(seconds=getattr(settings, setting))
    raise AssertionError("CADENCE ends with an unbounded step")


def cadence_sql(*, first_notice: str, at: str) -> tuple[str, dict[str, timedelta]]:
    """`cadence` as an SQL expression over the columns/expressions `first_notice` and `at`, with its
    parameters (named `cadence_N`)."""
    whens, params = [], {}
    for n, (bound, setting) in enumerate(CADENCE):
        params[f"cadence_{n}"] = timedelta(seconds=getattr(settings, setting))
        if bound is None:
            return f"CASE {' '.join(whens)} ELSE %(cadence_{n})s END", params
        params[f"bound_{n}"] = bound
        whens.append(f"WHEN {at} - coalesce({first_notice}, {at}) < %(bound_{n})s THEN %(cadence_{n})s")
    raise AssertionError("CADENCE ends with an unbounded step")
