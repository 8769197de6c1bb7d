"""Time-to-removal statistics, computed in PostgreSQL.

Every figure is a pair {low, high} from the two TTR bounds. Cases still up are never dropped: a case noticed
`age` seconds ago and not yet removed has TTR > age, so it enters the low series as `age` and the high series
as +infinity. A percentile whose high bound lands on a still-up case is therefore `null` (unbounded) — slow
providers are not flattered. Cases gone before their first notice are outside TTR statistics.
"""

from __future__ import annotations

import math
from datetime import datetime

from django.db import connection

from notices.models import HostingProvider, Url

GROUPS = {
    "provider": "u.provider_at_notice_id",
    "asn": "u.asn_at_notice",
    "country": "u.country_at_notice",
    "month": "to_char(date_trunc('month', u.first_notice_sent_at AT TIME ZONE 'UTC'), 'YYYY-MM')",
}
PERCENTILES = {"median": 0.5, "p75": 0.75, "p90": 0.9}
DAY = 86400


def _finite(value):
    if value is None or (isinstance(value, float) and math.isinf(value)):
        return None
    return int(value)


def ttr_stats(
    *, group_by: str, now: datetime, since: datetime | None = None, until: datetime | None = None,
    notice_type: str | None = None,
) -> list[dict]:  # fmt: skip
    """One dict per group: count, removed, still_up, median/p75/p90/max as {low, high}, shares, still-up counts."""
    key = GROUPS[group_by]
    pct = ", ".join(
        f"percentile_disc({q}) WITHIN GROUP (ORDER BY lo) AS {name}_low, "
        f"percentile_disc({q}) WITHIN GROUP (ORDER BY hi) AS {name}_high"
        for name, q in PERCENTILES.items()
    )
    where, params = _filters(since, until, notice_type)
    sql = f"""
        WITH cases AS (
            SELECT {key} AS k,
                   u.removal_confirmed_at IS NOT NULL AS removed,
                   COALESCE(u.ttr_low, EXTRACT(EPOCH FROM (%(now)s - u.first_notice_sent_at)))::float8 AS lo,
                   COALESCE(u.ttr_high::float8, 'Infinity'::float8) AS hi,
                   EXTRACT(EPOCH FROM (%(now)s - u.first_notice_sent_at))::float8 AS age
            FROM {Url._meta.db_table} u
            WHERE u.first_notice_sent_at IS NOT NULL AND u.status <> 'gone_before_notice' {where}
        )
        SELECT k, count(*), count(*) FILTER (WHERE removed), {pct},
               max(lo), max(hi),
               avg((hi < {DAY})::int), avg((lo < {DAY})::int),
               avg((hi < 3 * {DAY})::int), avg((lo < 3 * {DAY})::int),
               avg((lo > 7 * {DAY})::int), avg((hi > 7 * {DAY})::int),
               {", ".join(f"count(*) FILTER (WHERE NOT removed AND age > {d} * {DAY})" for d in (1, 3, 7, 30))}
        FROM cases GROUP BY k ORDER BY k NULLS LAST"""
    params["now"] = now
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [_group(row, group_by) for row in rows]


def _filters(since, until, notice_type) -> tuple[str, dict]:
    clauses, params = [], {}
    if since:
        clauses.append("u.first_notice_sent_at >= %(since)s")
        params["since"] = since
    if until:
        clauses.append("u.first_notice_sent_at < %(until)s")
        params["until"] = until
    if notice_type:
        clauses.append("u.notice_type_at_notice = %(notice_type)s")
        params["notice_type"] = notice_type
    return "".join(f" AND {c}" for c in clauses), params


def _group(row, group_by: str) -> dict:
    k, count, removed = row[0], row[1], row[2]
    figures = row[3:9]
    result = {"key": k, "count": count, "removed": removed, "still_up": count - removed}
    for i, name in enumerate(PERCENTILES):
        result[name] = {"low": _finite(figures[2 * i]), "high": _finite(figures[2 * i + 1])}
    result["max"] = {"low": _finite(row[9]), "high": _finite(row[10])}
    # A share is bounded the other way round: the low bound of "removed < 24 h" uses the high TTRs.
    result["share_under_24h"] = {"low": float(row[11]), "high": float(row[12])}
    result["share_under_72h"] = {"low": float(row[13]), "high": float(row[14])}
    result["share_over_7d"] = {"low": float(row[15]), "high": float(row[16])}
    result["still_up_after_days"] = dict(zip(("1", "3", "7", "30"), row[17:21], strict=True))
    if group_by == "provider":
        result["key"] = _provider_key(k)
    return result


def _provider_key(pk):
    if pk is None:
        return None
    provider = HostingProvider.objects.filter(pk=pk).values("slug", "name", "country").first()
    return provider["slug"] if provider else str(pk)
