"""Request counters shared by every process: fixed windows in the database, one statement per request.

A bucket (an API key, a client address) counts its requests in the current window of its rate's period
(windows start at multiples of the period in Unix time). `count` adds the request and reads the total with
one `INSERT … ON CONFLICT DO UPDATE … RETURNING` on the bucket's row, in the UNLOGGED table RateCounter, so
all web processes share the count and no request waits for a disk flush. A request over the rate is refused
until its window ends (Retry-After); refused requests are counted too, which changes nothing within a fixed
window.

A process also remembers the refusals the database gave it (`remembered`) until the window that refused them
ends: a later request of that bucket in the same process is refused without a database statement. This is not
a per-process count: it only repeats a decision of the shared counter, which cannot change before then.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from functools import cache

from django.db import connection

from notices.models import RateCounter
from tracker.env import parse_rate

REMEMBERED_MAX = 10_000  # refusals a process keeps; past that, the ended ones go (all of them if need be)

_TABLE = RateCounter._meta.db_table
_COUNT = f"""
WITH hit AS (
    INSERT INTO {_TABLE} AS c (bucket, window_start, hits) VALUES (%s, %s, 1)
    ON CONFLICT (bucket) DO UPDATE
    SET hits = CASE WHEN c.window_start = EXCLUDED.window_start THEN c.hits + 1 ELSE 1 END,
        window_start = EXCLUDED.window_start
    RETURNING hits
)
SELECT hit.hits, (SELECT w.hits FROM {_TABLE} w WHERE w.bucket = %s AND w.window_start = %s) FROM hit
"""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds until the window that refused ends


@dataclass(frozen=True)
class Window:
    limit: int
    start: int  # Unix time
    end: int

    @classmethod
    def of(cls, rate: str, now: float) -> Window:
        limit, period = _parsed(rate)
        start = int(now // period) * period
        return cls(limit, start, start + period)

    def refusal(self, now: float) -> Verdict:
        return Verdict(False, max(1, math.ceil(self.end - now)))


@cache
def _parsed(rate: str) -> tuple[int, int]:
    return parse_rate(rate)


def count(bucket: str, rate: str, *, now: float, watch: tuple[str, str] | None = None) -> Verdict:
    """Count one request of `bucket` and say whether it is within `rate` (`N/period`).

    With `watch=(other bucket, its rate)` the same statement reads that bucket's count in its current window
    (without counting there) and refuses when it is over its rate: a client address over its limit is refused
    even with a valid key. A refusal is remembered for the rest of its window (see the module docstring)."""
    own = Window.of(rate, now)
    watched = Window.of(watch[1], now) if watch else None
    with connection.cursor() as cursor:
        cursor.execute(
            _COUNT, [bucket, own.start, watch[0] if watch else None, watched.start if watched else None]
        )
        hits, watched_hits = cursor.fetchone()
    if watched is not None and watched_hits is not None and watched_hits > watched.limit:
        _remember(watch[0], watched.end, now=now)
        return watched.refusal(now)
    if hits > own.limit:
        _remember(bucket, own.end, now=now)
        return own.refusal(now)
    return Verdict(True)


# --- Refusals this process was given ----------------------------------------------------------------------

_refused_until: dict[str, int] = {}
_lock = threading.Lock()


def remembered(bucket: str, *, now: float) -> Verdict | None:
    """The refusal the shared counter gave `bucket` in this process, while its window lasts; else None."""
    until = _refused_until.get(bucket)
    if until is None or until <= now:
        return None
    return Verdict(False, max(1, math.ceil(until - now)))


def _remember(bucket: str, until: int, *, now: float) -> None:
    with _lock:
        if len(_refused_until) >= REMEMBERED_MAX:
            for key, value in list(_refused_until.items()):
                if value <= now:
                    del _refused_until[key]
            if len(_refused_until) >= REMEMBERED_MAX:
                _refused_until.clear()  # forgetting only costs a statement per bucket
        _refused_until[bucket] = until


def purge(*, now: float) -> int:
    """Delete counters whose window began more than two days ago (longer than any rate's period)."""
    deleted, _ = RateCounter.objects.filter(window_start__lt=int(now) - 2 * 86400).delete()
    return deleted
