"""The fast path of the time-to-removal statistics: every case as a row of a few columns in memory (numpy),
so any filter combination (provider, country, member state, ASN, notice type, first-notice range) and any
grouping is answered in milliseconds, exactly as `stats.ttr_stats` computes it in PostgreSQL (the plain path,
which stays the reference: tests/notices/stats/test_columns.py requires both to agree on every grouping and
filter; the snapshot refresh runs the plain path).

The columns are read with one binary COPY (fixed-width fields, parsed by numpy without a Python loop), and a
process keeps them while they are current. Every change the statistics count is recorded by database
triggers in its own transaction (a StatsChange row), and a refresh that settles changes deletes their rows
and takes a new generation from a sequence: so the generation, the number of change rows and the newest of
them stay the same exactly as long as nothing changed. One small query compares them before each answer.

When they differ, the kept columns are patched instead of read again: the same triggers name the cases a
transaction changed (StatsChangedCase, with the writing transaction), the columns remember the database
snapshot they were read under, and the cases whose changes that snapshot did not see are read again (one COPY
restricted to them), their old entries dropped and the new ones appended. Everything is read again when that
is not certain to be exact: a change that names no case, more than PATCH_MAX_SHARE of the cases changed, or
changes pruned since the read (migration 0043).

Ages of cases still up are computed at the request's `now`, so figures from kept columns are the live figures.
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from notices.enums import NoticeType
from notices.models import (
    EU_COUNTRIES,
    HostingProvider,
    RemovalCycle,
    StatsChange,
    StatsChangedCase,
    StatsSnapshot,
    Url,
)

DAY = 86400
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NULL = np.iinfo(np.int64).max  # a missing provider or ASN; sorts after every key, as NULLS LAST does
NOTICE_TYPES = [str(value) for value in NoticeType]
# The fixed-width fields of the binary COPY, in order: (name, PostgreSQL expression, numpy type). A country
# is up to two ASCII letters as one number ('' is 0), ordered as the codes are.
COUNTRY = "ascii(substr(country_at_notice, 1, 1)) * 256 + ascii(substr(country_at_notice, 2, 1))"
NOTICE_TYPE = "array_position(%(types)s::text[], notice_type_at_notice::text)"
# A URL's current cycle referred to law enforcement within 3 days of its first report (reports.py).
REFERRED = "COALESCE(le_referred_at <= first_reported_at + interval '3 days', false)"
FIELDS = [
    ("provider", f"COALESCE(provider_at_notice_id, {NULL})::int8", ">i8"),
    ("asn", f"COALESCE(asn_at_notice, {NULL})::int8", ">i8"),
    ("country", f"({COUNTRY})::int4", ">i4"),
    ("notice_type", f"COALESCE({NOTICE_TYPE}, -1)::int2", ">i2"),
    ("first_notice", "(EXTRACT(EPOCH FROM first_notice_sent_at) * 1000000)::int8", ">i8"),
    ("ttr_low", "COALESCE(ttr_low::float8, 'NaN')", ">f8"),
    ("ttr_high", "COALESCE(ttr_high::float8, 'Infinity')", ">f8"),
    ("removed", "removal_confirmed_at IS NOT NULL", "?"),
]
# Whether a country code is an EU member state, looked up by the code (two ASCII letters fit 16 bits).
IN_EU = np.zeros(1 << 16, dtype=bool)
IN_EU[[ord(code[0]) * 256 + ord(code[1]) for code in EU_COUNTRIES]] = True
# Kept columns are patched while at most this share of their cases changed; beyond it one read of every case
# costs less than the patch.
PATCH_MAX_SHARE = 0.05
# How long a refresh keeps the names of changed cases (a process that has not answered for longer reads its
# columns anew).
CHANGED_CASES_KEPT = timedelta(hours=6)
PERCENTILES = {"median": 0.5, "p75": 0.75, "p90": 0.9}
SURVIVAL_POINTS = np.array([3600, 6 * 3600, DAY, 3 * DAY, 7 * DAY, 14 * DAY, 30 * DAY], dtype=np.float64)


@dataclass(frozen=True)
class Cases:
    """One entry per case (a URL's current cycle, or a finished cycle): the keys at first notice, the first
    notice in microseconds since the epoch, the stored TTR bounds (NaN / +inf when not known), whether it was
    removed, whether it is a finished cycle (a reappearance), whether an analyst closed it (outside the
    figures, counted per group), whether it was referred to law enforcement within 3 days of its report, and
    the case's key (the URL id for its current cycle, minus the id of a finished RemovalCycle row). Entries
    are in no particular order: no figure depends on it."""

    provider: np.ndarray
    asn: np.ndarray
    country: np.ndarray
    notice_type: np.ndarray
    first_notice: np.ndarray
    ttr_low: np.ndarray
    ttr_high: np.ndarray
    removed: np.ndarray
    reappeared: np.ndarray
    closed: np.ndarray
    referred: np.ndarray
    key: np.ndarray

    def __len__(self) -> int:
        return len(self.first_notice)


# Whether a URL row is in the statistics (its current cycle is a case).
URL_IN_STATS = "first_notice_sent_at IS NOT NULL AND status <> 'gone_before_notice'"


def _copy_sql(*, restricted: bool = False) -> str:
    """Every case; `restricted`: only the URLs `%(urls)s` and the finished cycles `%(cycles)s` (id arrays)."""
    columns = ", ".join(expression for _, expression, _ in FIELDS)
    urls, cycles = (
        (" AND id = ANY(%(urls)s::int8[])", "WHERE id = ANY(%(cycles)s::int8[])") if restricted else ("", "")
    )
    return f"""
        SELECT {columns}, false, status = 'closed', {REFERRED}, id::int8 FROM {Url._meta.db_table}
        WHERE {URL_IN_STATS}{urls}
        UNION ALL
        SELECT {columns}, true, false, false, (-id)::int8 FROM {RemovalCycle._meta.db_table} {cycles}"""


FLAGS = [("reappeared", "", "?"), ("closed", "", "?"), ("referred", "", "?"), ("key", "", ">i8")]


def _row_type() -> np.dtype:
    """A binary COPY tuple of fixed-width, never-null fields: a 16-bit field count, then per field a 32-bit
    length and the value (network byte order)."""
    parts = [("fields", ">i2")]
    for name, _, kind in [*FIELDS, *FLAGS]:
        parts += [(f"{name}_length", ">i4"), (name, kind)]
    return np.dtype(parts)


ROW = _row_type()


def _copy(cursor, sql: str, params: dict) -> Cases:
    """The cases `sql` selects, by one binary COPY parsed into columns."""
    buffer = io.BytesIO()
    sql = cursor.mogrify(sql, {"types": NOTICE_TYPES, **params}).decode()
    cursor.cursor.copy_expert(f"COPY ({sql}) TO STDOUT WITH (FORMAT binary)", buffer)
    data = buffer.getbuffer()
    start = 19 + int.from_bytes(data[15:19], "big")  # signature, flags, header extension
    rows = np.frombuffer(data[start : len(data) - 2], dtype=ROW)  # the trailer is a 16-bit -1
    if len(rows) and (rows["fields"] != len(FIELDS) + len(FLAGS)).any():
        raise ValueError("unexpected COPY row layout")
    columns = {
        name: rows[name].astype(rows.dtype[name].newbyteorder("=")) for name in Cases.__dataclass_fields__
    }
    for column in columns.values():
        column.flags.writeable = False
    return Cases(**columns)


def _begin(cursor, *, consistent: bool) -> None:
    """The first statements of a read: one snapshot for all of it when the read is its own transaction
    (`consistent`), and the statistics' statement timeout — a read that would hold the database too long
    fails instead (the snapshots stay stale, answered live; beat's next refresh tries again)."""
    if consistent:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    cursor.execute(f"SET LOCAL statement_timeout = '{settings.STATS_STATEMENT_TIMEOUT}'")


def _snapshot(cursor) -> str:
    cursor.execute("SELECT pg_current_snapshot()::text")
    return cursor.fetchone()[0]


def read_cases() -> tuple[Cases, tuple | None]:
    """Read every case with one COPY. Returns the columns and the token they stay valid under (None: a change
    was recorded while they were read, so they answer only the question at hand)."""
    cases, token, _ = _read()
    return cases, token


def _read() -> tuple[Cases, tuple | None, str]:
    """Every case, the token they stay valid under and the database snapshot they were read under.

    Read on its own, one snapshot serves the token and the COPY. Inside a caller's transaction (READ
    COMMITTED) the token is read before and after the COPY: a change committed before the COPY started shows
    in the second reading (a new change row, or once settled, a new generation), so columns are kept only
    when both readings agree — and then the snapshot taken after the first reading saw what the COPY saw of
    every change. Inside a caller's transaction its own uncommitted changes are change rows like any other
    (the same triggers), and a rolled-back test leaves ids that are never given again."""
    consistent = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        _begin(cursor, consistent=consistent)
        before = _token(cursor)
        snapshot = _snapshot(cursor)
        cases = _copy(cursor, _copy_sql(), {})
        after = _token(cursor)
    return cases, (before if before == after else None), snapshot


def _patch(cases: Cases, snapshot: str) -> tuple[Cases, tuple | None, str] | None:
    """The kept `cases` (read under `snapshot`) brought up to date: the cases changed by every transaction the
    snapshot did not see are read again, their old entries dropped and the current ones appended. Returns the
    columns, their token and snapshot as `_read` does, or None when only a read of every case is certain to
    be exact (a change naming no case, too many changed, or names pruned since `snapshot`).

    One snapshot for the token, the names and the COPY (a transaction of its own): a change committed after it
    alters the token, and its names are invisible to the snapshot, so the next answer patches again."""
    limit = int(len(cases) * PATCH_MAX_SHARE)
    with transaction.atomic(), connection.cursor() as cursor:
        _begin(cursor, consistent=True)
        token = _token(cursor)
        cursor.execute(
            "SELECT pg_current_snapshot()::text,"
            " pg_snapshot_xmin(%(kept)s::pg_snapshot)::text::int8 >= last_value"
            " FROM notices_stats_changed_horizon",
            {"kept": snapshot},
        )
        current, named = cursor.fetchone()
        if token is None or not named:
            return None
        cursor.execute(
            f"""SELECT key FROM {StatsChangedCase._meta.db_table}
                WHERE xact >= pg_snapshot_xmin(%(kept)s::pg_snapshot)::text::int8
                  AND NOT pg_visible_in_snapshot(xact::text::xid8, %(kept)s::pg_snapshot)
                GROUP BY key LIMIT %(limit)s""",
            {"kept": snapshot, "limit": limit + 1},
        )
        found = [key for (key,) in cursor.fetchall()]
        if len(found) > limit or None in found:
            return None
        if not found:  # settled by a refresh, or changes that touched no case: the same cases
            return cases, token, current
        keys = np.sort(np.array(found, dtype=np.int64))
        fresh = _copy(
            cursor,
            _copy_sql(restricted=True),
            {"urls": [int(k) for k in keys[keys > 0]], "cycles": [int(-k) for k in keys[keys < 0]]},
        )
    at = np.minimum(np.searchsorted(keys, cases.key), len(keys) - 1)
    kept = keys[at] != cases.key
    columns = {}
    for name in Cases.__dataclass_fields__:
        column = np.concatenate([getattr(cases, name)[kept], getattr(fresh, name)])
        column.flags.writeable = False
        columns[name] = column
    return Cases(**columns), token, current


def prune_changed_cases(cursor) -> None:
    """Forget the names of changed cases older than CHANGED_CASES_KEPT (a refresh calls it). The horizon
    rises first (a sequence: seen at once, by every process) to the oldest transaction whose names are kept,
    or the oldest still running if that is older, and only rows below it are deleted: a process whose columns
    were read under a snapshot older than the horizon (its oldest running transaction below it) reads them
    anew instead of patching. A transaction that stays open holds the horizon back, never a patch."""
    table = StatsChangedCase._meta.db_table
    cursor.execute(
        f"""SELECT setval('notices_stats_changed_horizon', greatest(last_value, horizon))
            FROM notices_stats_changed_horizon, (
                SELECT LEAST(
                    (SELECT min(xact) FROM {table} WHERE changed_at >= now() - %(kept)s),
                    pg_snapshot_xmin(pg_current_snapshot())::text::int8) AS horizon) AS oldest""",
        {"kept": CHANGED_CASES_KEPT},
    )
    (horizon,) = cursor.fetchone()
    StatsChangedCase.objects.filter(xact__lt=horizon).delete()


def _token(cursor) -> tuple | None:
    """What columns read now stay valid under: the snapshots' generation and the changes recorded since the
    last refresh (their number and newest id). Between refreshes change rows are only added, so any change
    committed after a read alters the token; a refresh, which deletes them, takes a new generation.

    None inside a transaction that has written: its changes are marked once per transaction, so a second
    change in it would not alter the token (a request reads in autocommit; tests run in one transaction)."""
    cursor.execute(
        f"""SELECT current_database(), (SELECT max(generation) FROM {StatsSnapshot._meta.db_table}),
                   count(*), max(id), txid_current_if_assigned() IS NOT NULL
            FROM {StatsChange._meta.db_table}"""
    )
    *token, writing = cursor.fetchone()
    return None if writing else tuple(token)


class _Kept:
    """The columns this process keeps, the token they are valid under and the snapshot they were read
    under."""

    lock = threading.Lock()
    cases: Cases | None = None
    token: tuple | None = None
    snapshot: str | None = None


def current_cases() -> Cases:
    """The columns of every case as the database has them now: the kept ones when still current (one small
    query), else the kept ones patched with the cases changed since (in a request, which reads in
    autocommit), else read anew — kept unless a change was recorded during the read."""
    with connection.cursor() as cursor:
        token = _token(cursor)
    with _Kept.lock:
        if token is not None and token == _Kept.token and _Kept.cases is not None:
            return _Kept.cases
        found = None
        if token is not None and _Kept.cases is not None and not connection.in_atomic_block:
            found = _patch(_Kept.cases, _Kept.snapshot)
        cases, token, snapshot = found or _read()
        _Kept.cases, _Kept.token, _Kept.snapshot = (
            (cases, token, snapshot) if token is not None else (None, None, None)
        )
        return cases


def forget() -> None:
    """Drop the kept columns (tests that rebuild the database under a running process)."""
    with _Kept.lock:
        _Kept.cases, _Kept.token, _Kept.snapshot = None, None, None


def _code(country: str) -> int:
    letters = country[:2]
    return sum(ord(c) << (8 * (1 - i)) for i, c in enumerate(letters))


def _name(code: int) -> str:
    return "".join(chr(c) for c in (code >> 8, code & 0xFF) if c)


def _microseconds(moment: datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def select(
    cases: Cases,
    *,
    since=None,
    until=None,
    notice_type=None,
    provider=None,
    country=None,
    asn=None,
    eu=None,
) -> np.ndarray:
    """The mask of the cases the filters select (the same filters as `stats._filters`)."""
    mask = np.ones(len(cases), dtype=bool)
    if provider is not None:
        # An unknown slug selects nothing.
        pk = HostingProvider.objects.filter(slug=provider).values_list("pk", flat=True).first()
        mask &= cases.provider == (pk if pk is not None else -1)
    if country is not None:
        mask &= cases.country == _code(country.upper())
    if asn is not None:
        mask &= cases.asn == int(asn)
    if eu is not None:
        in_eu = IN_EU[cases.country]
        mask &= in_eu if eu else ~in_eu
    if since:
        mask &= cases.first_notice >= _microseconds(since)
    if until:
        mask &= cases.first_notice < _microseconds(until)
    if notice_type:
        code = NOTICE_TYPES.index(notice_type) + 1 if notice_type in NOTICE_TYPES else -2
        mask &= cases.notice_type == code
    return mask


def _keys(cases: Cases, group_by: str, index: np.ndarray) -> tuple[np.ndarray, callable]:
    """The group of each selected case as a sortable integer, and the function naming a group."""
    if group_by == "provider":
        return cases.provider[index], lambda k: None if k == NULL else int(k)
    if group_by == "asn":
        return cases.asn[index], lambda k: None if k == NULL else int(k)
    if group_by == "country":
        return cases.country[index].astype(np.int64), _name
    if group_by == "member_state":
        country = cases.country[index].astype(np.int64)
        return np.where(IN_EU[country], country, NULL), lambda k: None if k == NULL else _name(k)
    if group_by == "month":
        months = cases.first_notice[index].astype("datetime64[us]").astype("datetime64[M]").astype(np.int64)
        return months, lambda k: str(np.datetime64(int(k), "M"))
    if group_by == "all":
        return np.zeros(len(index), dtype=np.int64), lambda k: "all"
    raise ValueError(f"unknown grouping {group_by!r}")


# Bands of time to removal for the distribution: (upper end in seconds, label).
BANDS = [(3600, "< 1 h"), (6 * 3600, "1–6 h"), (DAY, "6–24 h"), (3 * DAY, "1–3 d"), (7 * DAY, "3–7 d"),
         (30 * DAY, "7–30 d"), (math.inf, "> 30 d")]  # fmt: skip


def distribution(cases: Cases, *, now: datetime, **filters) -> dict:
    """How many removed cases took how long, per band, counted once by the low and once by the high bound of
    their time to removal; and how many are still up. Closed cases are left out, as in every figure."""
    mask = select(cases, **filters) & ~cases.closed
    removed = mask & cases.removed
    age = (_microseconds(now) - cases.first_notice[removed]) / 1e6
    stored_low = cases.ttr_low[removed]
    lo = np.where(np.isnan(stored_low), age, stored_low)
    edges = np.array([edge for edge, _ in BANDS[:-1]], dtype=np.float64)
    bands = len(BANDS)

    def counted(values):
        return [int(n) for n in np.bincount(np.searchsorted(edges, values, side="right"), minlength=bands)]

    return {
        "bands": [label for _, label in BANDS],
        "low": counted(lo),
        "high": counted(cases.ttr_high[removed]),
        "still_up": int((mask & ~cases.removed).sum()),
    }


def law_enforcement(cases: Cases, *, since: datetime, until: datetime) -> tuple[int, int]:
    """Of the URLs whose current cycle's first notice falls in [since, until) — neither gone before notice
    nor closed — how many there are and how many were referred within 3 days of their first report."""
    window = select(cases, since=since, until=until) & ~cases.reappeared & ~cases.closed
    return int(window.sum()), int((window & cases.referred).sum())


def _factorize(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct keys in ascending order (NULL last) and each entry's group number. Keys in a small range
    (countries, months, providers) are counted into slots — no sort; others go through np.unique."""
    if not len(keys):
        return keys[:0], np.zeros(0, dtype=np.intp)
    real = keys != NULL
    low, high = (int(keys[real].min()), int(keys[real].max())) if real.any() else (0, -1)
    if high - low < 1 << 20:
        slots = np.where(real, keys - low, high - low + 1)
        present = np.bincount(slots, minlength=high - low + 2) > 0
        numbers = np.cumsum(present) - 1
        found = np.flatnonzero(present)
        group_keys = np.where(found == high - low + 1, NULL, found + low).astype(np.int64)
        return group_keys, numbers[slots]
    return np.unique(keys, return_inverse=True)


def _ranked(values: np.ndarray, starts, sizes, ranks: list[np.ndarray]) -> list[np.ndarray]:
    """The values at the given ranks of each group (entries in group order), by partitioning each group's
    slice around its ranks — linear time, no sort."""
    found = [np.empty(len(sizes)) for _ in ranks]
    for g, (start, size) in enumerate(zip(starts, sizes, strict=True)):
        kth = sorted({int(rank[g]) for rank in ranks})
        part = np.partition(values[start : start + size], kth)
        for i, rank in enumerate(ranks):
            found[i][g] = part[rank[g]]
    return found


def figures(cases: Cases, *, group_by: str, now: datetime, survival: bool = True, **filters) -> list[dict]:
    """What `stats.ttr_stats` returns for the same arguments, from the columns. `survival=False` leaves the
    survival curves out (the year's figures and the transparency report show none). Linear in the selected
    cases: no sort by time anywhere."""
    mask = select(cases, **filters)
    counted = np.flatnonzero(mask & ~cases.closed)
    closed = np.flatnonzero(mask & cases.closed)
    keys, name = _keys(cases, group_by, counted)
    if not len(counted):
        return []
    age = (_microseconds(now) - cases.first_notice[counted]) / 1e6
    stored_low = cases.ttr_low[counted]
    lo = np.where(np.isnan(stored_low), age, stored_low)
    hi = cases.ttr_high[counted]
    removed = cases.removed[counted]
    reappeared = cases.reappeared[counted]

    group_keys, group = _factorize(keys)
    g_count = len(group_keys)
    sizes = np.bincount(group, minlength=g_count)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    # Per group the case ranks percentile_disc takes: the first value whose cumulative share reaches q (row
    # ceil(q·n), at least row 1), and the last (the max).
    ranks = [np.maximum(np.ceil(q * sizes), 1).astype(np.int64) - 1 for q in PERCENTILES.values()]
    ranks.append(sizes - 1)
    # The cases by group (a radix sort while there are fewer than 65,536 groups); nothing is sorted by time:
    # the percentiles come from partitions, the survival curves from counts (`_survival`).
    if g_count == 1:
        by_group = np.arange(len(counted))
    else:
        by_group = np.argsort(group.astype(np.uint16 if g_count < 1 << 16 else np.int64), kind="stable")
    at_low = _ranked(lo[by_group], starts, sizes, ranks)
    at_high = _ranked(hi[by_group], starts, sizes, ranks)

    def per_group(condition: np.ndarray) -> np.ndarray:
        return np.bincount(group[condition], minlength=g_count)

    still_up = ~removed
    counts = {
        "removed": per_group(removed),
        "reappeared": per_group(reappeared),
        **{f"still_up_{d}": per_group(still_up & (age > d * DAY)) for d in (1, 3, 7, 30)},
        "hi_24h": per_group(hi < DAY),
        "lo_24h": per_group(lo < DAY),
        "hi_72h": per_group(hi < 3 * DAY),
        "lo_72h": per_group(lo < 3 * DAY),
        "lo_7d": per_group(lo > 7 * DAY),
        "hi_7d": per_group(hi > 7 * DAY),
    }
    percentiles = {label: (at_low[i], at_high[i]) for i, label in enumerate(PERCENTILES)}
    curves = [[{"t": int(point)} for point in SURVIVAL_POINTS] for _ in range(g_count)]
    if survival:
        # The time of each case for the survival curve: its bound when removed, else its age.
        for bound, values in (("low", lo), ("high", hi)):
            _survival(curves, bound, group, np.where(removed, values, age), removed, sizes, by_group)
    closed_keys, _ = _keys(cases, group_by, closed)
    closed_counts = dict(zip(*np.unique(closed_keys, return_counts=True), strict=True))

    names = {}
    if group_by == "provider":
        pks = [int(k) for k in group_keys if k != NULL]
        names = dict(HostingProvider.objects.filter(pk__in=pks).values_list("pk", "slug"))
    groups = []
    for g, k in enumerate(group_keys):
        n = int(sizes[g])
        key = name(k)
        group = {
            "key": names.get(key, key),
            "count": n,
            "removed": int(counts["removed"][g]),
            "still_up": n - int(counts["removed"][g]),
            "reappeared": int(counts["reappeared"][g]),
            "closed": int(closed_counts.get(k, 0)),
        }
        for label in PERCENTILES:
            low, high = percentiles[label]
            group[label] = {"low": _finite(low[g]), "high": _finite(high[g])}
        group["max"] = {"low": _finite(at_low[-1][g]), "high": _finite(at_high[-1][g])}
        group["share_under_24h"] = {"low": counts["hi_24h"][g] / n, "high": counts["lo_24h"][g] / n}
        group["share_under_72h"] = {"low": counts["hi_72h"][g] / n, "high": counts["lo_72h"][g] / n}
        group["share_over_7d"] = {"low": counts["lo_7d"][g] / n, "high": counts["hi_7d"][g] / n}
        group["still_up_after_days"] = {str(d): int(counts[f"still_up_{d}"][g]) for d in (1, 3, 7, 30)}
        if survival:
            group["survival"] = curves[g]
        groups.append(group)
    if group_by == "member_state":
        total = sum(group["count"] for group in groups)
        groups = [{**group, "share": group["count"] / total} for group in groups if group["key"] is not None]
    return groups


def _finite(value) -> int | None:
    value = float(value)
    return None if math.isinf(value) or math.isnan(value) else int(value)


def _survival(curves, bound, group, t, event, sizes, by_group) -> None:
    """Kaplan–Meier S(t) at the fixed points per group for one bound, into `curves` — the figures of
    `stats._survival_sql`: S(t) = Π (1 − d_i / n_i) over the event times t_i ≤ t, n_i the cases whose time is
    ≥ t_i; a time where every remaining case is removed empties the curve. `t`: the removal bound of a removed
    case (`event`), the age of a case still up; `by_group`: the cases ordered by group.

    No sort of the cases: the product telescopes. Take the cases of a group (N of them) in time order and a
    block of equal times at positions [s, e) with d removed and k still up; its factor is (N − s − d)/(N − s)
    = (N − e + k)/(N − s). Over every block before a point, with P cases before it:
        S = (N − P)/N · Π over the blocks with cases still up of (N − e + k)/(N − e),
    so only the still-up cases (censored) are looked at one by one; P is a count per group and point. When the
    last block before the point holds cases still up (e = P), its (N − e) and the (N − P) cancel, also at 0;
    otherwise N − P = 0 is a curve emptied by removals."""
    points = len(SURVIVAL_POINTS)
    g_count = len(sizes)
    point = np.searchsorted(SURVIVAL_POINTS, t - 0.5, side="right")  # width_bucket, 0-based
    inside = point < points
    cells = g_count * points
    before = np.cumsum(
        np.bincount(group[inside] * points + point[inside], minlength=cells).reshape(-1, points), axis=1
    )
    n = sizes.astype(np.float64)[:, None]
    rest = n - before
    kept_log = np.zeros(
        (g_count, points)
    )  # Σ log(N − e + k) − Σ log(N − e) over the blocks before each point
    last_kept = np.zeros(
        (g_count, points), dtype=bool
    )  # the last block before the point holds cases still up
    up = np.flatnonzero(~event & inside)
    if len(up):
        up_group, up_time = group[up], t[up]
        order = np.lexsort((up_time, up_group))
        up_group, up_time = up_group[order], up_time[order]
        starts = np.flatnonzero(np.r_[True, (up_group[1:] != up_group[:-1]) | (up_time[1:] != up_time[:-1])])
        k = np.diff(np.r_[starts, len(up_group)])
        block_group, block_time = up_group[starts], up_time[starts]
        # Still-up cases of the group before the block; removed cases before it and at its time, counted per
        # group by where each removed case's time falls among the group's block times (no sort of the cases).
        block_first = np.searchsorted(block_group, np.arange(g_count + 1), side="left")
        earlier_up = starts - starts[block_first[block_group]]
        below, through = np.empty(len(starts), dtype=np.int64), np.empty(len(starts), dtype=np.int64)
        group_start = np.r_[0, np.cumsum(sizes)]
        for g in np.unique(block_group):
            members = by_group[group_start[g] : group_start[g + 1]]
            gone = t[members[event[members]]]
            first, last = block_first[g], block_first[g + 1]
            times = block_time[first:last]
            for counts, side in ((below, "right"), (through, "left")):
                # A removed time is below block i when fewer than i + 1 block times are ≤ it (< it: through).
                where = np.searchsorted(times, gone, side=side)
                counts[first:last] = np.cumsum(np.bincount(where, minlength=len(times) + 1))[: len(times)]
        s = below + earlier_up
        e = s + (through - below) + k
        block_n = sizes[block_group]
        block_point = point[up][order][starts]
        cell = block_group * points + block_point
        with np.errstate(divide="ignore"):
            factor = np.log(block_n - e + k) - np.where(block_n > e, np.log(np.maximum(block_n - e, 1)), 0.0)
        kept_log = np.cumsum(np.bincount(cell, weights=factor, minlength=cells).reshape(-1, points), axis=1)
        reach = np.arange(points)[None, :] >= block_point[:, None]
        hit = reach & (e[:, None] == before[block_group])
        cells_hit = (block_group[:, None] * points + np.arange(points)[None, :])[hit]
        last_kept = (np.bincount(cells_hit, minlength=cells) > 0).reshape(-1, points)
    with np.errstate(divide="ignore"):
        log_rest = np.where(rest > 0, np.log(np.maximum(rest, 1)), 0.0)
    survival = np.where((rest == 0) & ~last_kept, 0.0, np.exp(log_rest - np.log(n) + kept_log))
    for i, curve in enumerate(curves):
        for j, entry in enumerate(curve):
            entry[bound] = round(float(survival[i, j]), 4)
