"""Time-to-removal statistics, computed in PostgreSQL (INTERFACES.md "Statistics").

Every figure is a pair {low, high} from the two TTR bounds. Cases still up are never dropped: a case noticed
`age` seconds ago and not yet removed has TTR > age, so it enters the low series as `age` and the high series
as +infinity. A percentile whose high bound lands on a still-up case is therefore `null` (unbounded) — slow
providers are not flattered. With every group goes a Kaplan–Meier survival curve (still-up cases censored at
their age), once from the low and once from the high bounds.

A case is one notice cycle of a URL: the URL's current cycle, plus the finished cycles of URLs whose content
came back (RemovalCycle), which also count as reappearances against their provider. Cases gone before their
first notice are outside TTR statistics, and so are cases an analyst closed (duplicate, reported in error, out
of remit): a closed case was never removed and is not still up, so it is neither an event nor a censored case.
Each group says how many of its noticed cases were closed (`closed`), so closing cannot flatter a provider
unseen. Only open cases can be closed (a removed one keeps its removal), and the finished cycles of a closed
URL still count.

The unfiltered statistics are served from snapshots (StatsSnapshot) only while they include every change:
database triggers record a change the statistics count (StatsChange, once per transaction), the change queues
one debounced refresh after commit (`refresh_after_commit`), and a stale snapshot is answered live meanwhile.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Min
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from notices.infra import enqueue
from notices.models import (
    EU_COUNTRIES,
    Assessment,
    HostingProvider,
    RemovalCycle,
    StatsChange,
    StatsRefresh,
    StatsSnapshot,
    Url,
)
from notices.selectors import stats_columns

# The EU member states as an SQL list (our own list, never the registry's "EU", which means unknown).
EU_SQL = ", ".join(f"'{code}'" for code in sorted(EU_COUNTRIES))
GROUPS = {
    "provider": "provider_at_notice_id",
    "asn": "asn_at_notice",
    "country": "country_at_notice",
    "month": "to_char(date_trunc('month', first_notice_sent_at AT TIME ZONE 'UTC'), 'YYYY-MM')",
    # The country at notice time when it is an EU member state; every other case falls in one group without
    # a key, which gives the total the shares are of and is then left out.
    "member_state": f"CASE WHEN country_at_notice IN ({EU_SQL}) THEN country_at_notice END",
}
# The hotline network's vocabulary (ICCAM), from the case's current assessment. `__ASSESSMENT__` stands for
# the id of that assessment in the row's own table (`_in_table`): a URL names it, a finished cycle through its
# URL. Correlated lookups by primary key: these groupings cost more than the columns above, so they keep no
# snapshot and are computed live (README "Statistics").
ASSESSMENT_VALUE = f"(SELECT a.{{column}} FROM {Assessment._meta.db_table} a WHERE a.id = __ASSESSMENT__)"


def _assessment(column: str, *, blank_is_null: bool = False) -> str:
    value = ASSESSMENT_VALUE.format(column=column)
    return f"NULLIF({value}, '')" if blank_is_null else value


PAYMENT_METHODS = _assessment("payment_methods")
# Each key: the value (null when the case has no assessment, or the value is empty / not determined).
NETWORK_GROUPS = {
    "classification": _assessment("network_classification"),
    "site_type": _assessment("site_type", blank_is_null=True),
    "age_band": _assessment("age_band", blank_is_null=True),
    "victim_gender": _assessment("victim_gender", blank_is_null=True),
    "virtual_content": _assessment("virtual_content"),
    "user_generated": _assessment("user_generated"),
    "child_modelling": _assessment("child_modelling"),
    "commercial": _assessment("commercial"),
    # A case is in the group of every payment method seen (so in several, or in the null group if none).
    "payment_method": f"unnest(COALESCE(NULLIF({PAYMENT_METHODS}, '{{}}'), '{{NULL}}'))",
    "outcome_reason": _assessment("outcome_reason", blank_is_null=True),
}
# The filters of the same names: the case's value equals the one asked for (a case without an assessment
# matches none); `payment_method` matches a case where that method was seen.
NETWORK_FILTERS = {
    **{name: f"{sql} = %({name})s" for name, sql in NETWORK_GROUPS.items() if name != "payment_method"},
    "payment_method": f"{PAYMENT_METHODS} @> ARRAY[%(payment_method)s]::varchar[]",
}
# Groupings the statistics compute but keep no snapshot of: every case in one group; the network vocabulary.
KEYS = {**GROUPS, **NETWORK_GROUPS, "all": "'all'::text"}
# The groupings the snapshot keeps ("all": the dashboard's overview, survival curve and shares), each served
# from it under the same rule, so the dashboard's figures of all cases and per provider agree.
SNAPSHOT_GROUPS = [*GROUPS, "all"]
PERCENTILES = {"median": 0.5, "p75": 0.75, "p90": 0.9}
DAY = 86400
SURVIVAL_POINTS = [3600, 6 * 3600, DAY, 3 * DAY, 7 * DAY, 14 * DAY, 30 * DAY]

logger = logging.getLogger(__name__)


def finite(value):
    if value is None or (isinstance(value, float) and math.isinf(value)):
        return None
    return int(value)


def _in_table(sql: str, model) -> str:
    """`sql` with `__ASSESSMENT__` made the current assessment's id for rows of `model` (Url or RemovalCycle);
    table-qualified, so a subquery over assessments (which have a url_id too) reads the outer row."""
    url_table, cycle_table = Url._meta.db_table, RemovalCycle._meta.db_table
    assessment_id = (
        f"{url_table}.current_assessment_id"
        if model is Url
        else f"(SELECT cu.current_assessment_id FROM {url_table} cu WHERE cu.id = {cycle_table}.url_id)"
    )
    return sql.replace("__ASSESSMENT__", assessment_id)


def _cases_sql(key: str, where: str) -> str:
    """One row per case (k, removed, lo, hi, age, reappeared) from current and finished cycles."""
    columns = f"""{key} AS k, removal_confirmed_at IS NOT NULL AS removed,
        COALESCE(ttr_low::float8, EXTRACT(EPOCH FROM (%(now)s - first_notice_sent_at))::float8) AS lo,
        COALESCE(ttr_high::float8, 'Infinity'::float8) AS hi,
        EXTRACT(EPOCH FROM (%(now)s - first_notice_sent_at))::float8 AS age"""
    current = f"""
        SELECT {columns}, false AS reappeared FROM {Url._meta.db_table}
        WHERE first_notice_sent_at IS NOT NULL AND status NOT IN ('gone_before_notice', 'closed') {where}"""
    finished = f"SELECT {columns}, true FROM {RemovalCycle._meta.db_table} WHERE true {where}"
    return f"{_in_table(current, Url)}\n        UNION ALL\n        {_in_table(finished, RemovalCycle)}"


def ttr_stats(
    *,
    group_by: str,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
    notice_type: str | None = None,
    **narrow,
) -> list[dict]:
    """One dict per group: count, removed, still_up, reappeared, closed (outside the figures), median/p75/p90/
    max as {low, high}, shares, still-up counts after 1/3/7/30 days and a survival curve. `narrow`: the
    filters `provider` (slug), `country`, `asn`, `eu` (True: EU member states only, False: all others), and
    the network vocabulary of the case's current assessment (NETWORK_FILTERS): `classification` (ICCAM),
    `site_type`, `age_band`, `victim_gender`, the flags `virtual_content`, `user_generated`,
    `child_modelling` and `commercial`, `payment_method` (seen on the site) and `outcome_reason`.

    By payment method, a case counts in the group of each method seen on its site (so the groups' counts can
    add up to more than the cases), and in the group without a key when none was seen.

    By member state, each group also has `share`: its part of all the cases the filters select, in the EU or
    not (the cases outside the EU are left out of the groups)."""
    where, params = _filters(since, until, notice_type, **narrow)
    params["now"] = now
    cases = _cases_sql(KEYS[group_by], where)
    with transaction.atomic(), connection.cursor() as cursor:
        # The percentiles and the survival curve sort every case; give the sorts memory instead of disk.
        cursor.execute(f"SET LOCAL work_mem = '{settings.STATS_WORK_MEM}'")
        if group_by in NETWORK_GROUPS or _reads_assessments(narrow):
            # The per-case lookups of the assessment make the planner's estimate large enough to compile
            # the queries (JIT), which costs more than it saves: 1.7-2.7 times slower at 100,000 cases.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(_figures_sql(cases), params)
        rows = cursor.fetchall()
        cursor.execute(_survival_sql(cases), {**params, "points": SURVIVAL_POINTS})
        curves = _curves(cursor.fetchall())
        cursor.execute(_closed_sql(KEYS[group_by], where), params)
        closed = dict(cursor.fetchall())
    names = _provider_slugs([row[0] for row in rows]) if group_by == "provider" else {}
    groups = [_group(row, curves.get(row[0], []), names, closed.get(row[0], 0)) for row in rows]
    if group_by == "member_state":
        total = sum(g["count"] for g in groups)
        groups = [{**g, "share": g["count"] / total} for g in groups if g["key"] is not None]
    return groups


def _reads_assessments(narrow: dict) -> bool:
    """Whether the filters include one of the network vocabulary's (a lookup of each case's assessment)."""
    return any(narrow.get(name) is not None for name in NETWORK_FILTERS)


def _closed_sql(key: str, where: str) -> str:
    """Per group, the noticed cases an analyst closed (few: the status index finds them)."""
    return _in_table(
        f"""
        SELECT {key}, count(*) FROM {Url._meta.db_table}
        WHERE status = 'closed' AND first_notice_sent_at IS NOT NULL {where} GROUP BY 1""",
        Url,
    )


def _figures_sql(cases: str) -> str:
    pct = ", ".join(
        f"percentile_disc({q}) WITHIN GROUP (ORDER BY lo), percentile_disc({q}) WITHIN GROUP (ORDER BY hi)"
        for q in PERCENTILES.values()
    )
    still_up = ", ".join(f"count(*) FILTER (WHERE NOT removed AND age > {d} * {DAY})" for d in (1, 3, 7, 30))
    return f"""
        WITH cases AS ({cases})
        SELECT k, count(*), count(*) FILTER (WHERE removed), count(*) FILTER (WHERE reappeared), {pct},
               max(lo), max(hi),
               avg((hi < {DAY})::int), avg((lo < {DAY})::int),
               avg((hi < 3 * {DAY})::int), avg((lo < 3 * {DAY})::int),
               avg((lo > 7 * {DAY})::int), avg((hi > 7 * {DAY})::int),
               {still_up}
        FROM cases GROUP BY k ORDER BY k NULLS LAST"""


def _survival_sql(cases: str) -> str:
    """Kaplan–Meier S(t) at fixed points, per group and bound: S(t) = Π (1 − d_i / n_i) over event times t_i ≤
    t, with n_i the cases whose time (removal bound, or age if still up) is ≥ t_i.

    Set-based: each event time's log-factor goes to the first point at or after it (width_bucket), sums per
    point are accumulated along the points — no per-point subquery, one sort per group and bound.
    """
    return f"""
        WITH cases AS ({cases}),
        obs AS (
            SELECT k, 'low' AS b, CASE WHEN removed THEN lo ELSE age END AS t, removed AS ev FROM cases
            UNION ALL
            SELECT k, 'high', CASE WHEN removed THEN hi ELSE age END, removed FROM cases),
        times AS (SELECT k, b, t, count(*) FILTER (WHERE ev) AS d, count(*) AS c FROM obs GROUP BY k, b, t),
        risk AS (SELECT k, b, t, d, sum(c) OVER (PARTITION BY k, b ORDER BY t DESC) AS n FROM times),
        factors AS (
            SELECT k, b, width_bucket(t - 0.5, %(points)s::float8[]) + 1 AS first_point,
                   sum(CASE WHEN d < n THEN ln(1 - d::float8 / n) ELSE 0 END) AS log_s,
                   bool_or(d = n) AS emptied
            FROM risk WHERE d > 0 GROUP BY 1, 2, 3),
        grid AS (
            SELECT g.k, g.b, p.i, p.point FROM (SELECT DISTINCT k, b FROM obs) g
            CROSS JOIN unnest(%(points)s::float8[]) WITH ORDINALITY AS p(point, i))
        SELECT grid.k, grid.b, grid.point,
               CASE WHEN bool_or(f.emptied) OVER w THEN 0
                    ELSE exp(COALESCE(sum(f.log_s) OVER w, 0)) END
        FROM grid LEFT JOIN factors f
             ON f.k IS NOT DISTINCT FROM grid.k AND f.b = grid.b AND f.first_point = grid.i
        WINDOW w AS (PARTITION BY grid.k, grid.b ORDER BY grid.i)
        ORDER BY 1, 3"""


def _curves(rows) -> dict:
    """{k: [{"t", "low", "high"}]}: "low" is S(t) from the low bounds (removal as early as it can have
    been)."""
    points: dict = {}
    for k, bound, t, survival in rows:
        point = points.setdefault(k, {}).setdefault(int(t), {"t": int(t)})
        point[bound] = round(float(survival), 4)
    return {k: list(by_t.values()) for k, by_t in points.items()}


def _filters(
    since, until, notice_type, *, provider=None, country=None, asn=None, eu=None, **network
) -> tuple[str, dict]:
    """The WHERE clauses (each led by AND) and their parameters. `network`: the vocabulary's filters
    (NETWORK_FILTERS), each applied unless None."""
    clauses, params = [], {}
    for name, value in network.items():
        if value is not None:
            clauses.append(NETWORK_FILTERS[name])
            params[name] = value
    if provider is not None:
        # An unknown slug selects nothing (NULL equals no id).
        params["provider"] = (
            HostingProvider.objects.filter(slug=provider).values_list("pk", flat=True).first()
        )
        clauses.append("provider_at_notice_id = %(provider)s")
    if country is not None:
        clauses.append("country_at_notice = %(country)s")
        params["country"] = country.upper()
    if asn is not None:
        clauses.append("asn_at_notice = %(asn)s")
        params["asn"] = asn
    if eu is not None:
        clauses.append(f"country_at_notice {'' if eu else 'NOT '}IN ({EU_SQL})")
    if since:
        clauses.append("first_notice_sent_at >= %(since)s")
        params["since"] = since
    if until:
        clauses.append("first_notice_sent_at < %(until)s")
        params["until"] = until
    if notice_type:
        clauses.append("notice_type_at_notice = %(notice_type)s")
        params["notice_type"] = notice_type
    return "".join(f" AND {c}" for c in clauses), params


def _group(row, survival: list, names: dict, closed: int) -> dict:
    k, count, removed, reappeared = row[0], row[1], row[2], row[3]
    figures = row[4:10]
    result = {
        "key": names.get(k, k),
        "count": count,
        "removed": removed,
        "still_up": count - removed,
        "reappeared": reappeared,
        "closed": closed,
    }
    for i, name in enumerate(PERCENTILES):
        result[name] = {"low": finite(figures[2 * i]), "high": finite(figures[2 * i + 1])}
    result["max"] = {"low": finite(row[10]), "high": finite(row[11])}
    # A share is bounded the other way round: the low bound of "removed < 24 h" uses the high TTRs.
    result["share_under_24h"] = {"low": float(row[12]), "high": float(row[13])}
    result["share_under_72h"] = {"low": float(row[14]), "high": float(row[15])}
    result["share_over_7d"] = {"low": float(row[16]), "high": float(row[17])}
    result["still_up_after_days"] = dict(zip(("1", "3", "7", "30"), row[18:22], strict=True))
    result["survival"] = survival
    return result


def _provider_slugs(pks) -> dict:
    return dict(HostingProvider.objects.filter(pk__in=[pk for pk in pks if pk]).values_list("pk", "slug"))


def refresh_snapshots(*, now: datetime) -> dict[str, int]:
    """Recompute the unfiltered statistics for every grouping and store them, settling the changes they
    include.

    Side effects: one StatsSnapshot row per grouping, replaced, in one transaction that also deletes the
    StatsChange rows visible when it starts — the computation, which runs after, includes at least those
    changes; a change committed meanwhile keeps its row, so the snapshots stay stale until the next refresh.
    Nothing is written if the computation fails. Returns the milliseconds each grouping took, and the read
    of the cases (`read`): the cases are read once, as columns, and every grouping computed from them
    (selectors/stats_columns.py, which agrees with `ttr_stats`, the same figures in SQL).
    """
    durations = {}
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {StatsChange._meta.db_table}")
            # The triggers mark once per transaction; a change later in this one must mark again.
            cursor.execute("SELECT set_config('notices.stats_marked_in', '', true)")
            # Processes keeping the cases as columns learn from the new number that this refresh settled
            # changes (selectors/stats_columns.py).
            cursor.execute("SELECT nextval('notices_stats_generation')")
            (generation,) = cursor.fetchone()
            # The names of changed cases outlive the changes a refresh settles (processes patch their columns
            # with them), until they are old.
            stats_columns.prune_changed_cases(cursor)
        started = time.perf_counter()
        # After the DELETE: the read includes every change whose row it deleted. Columns read inside this
        # transaction are not kept (what they saw is not committed yet).
        cases, _ = stats_columns.read_cases()
        durations["read"] = int((time.perf_counter() - started) * 1000)
        for group_by in SNAPSHOT_GROUPS:
            started = time.perf_counter()
            groups = stats_columns.figures(cases, group_by=group_by, now=now)
            durations[group_by] = int((time.perf_counter() - started) * 1000)
            StatsSnapshot.objects.update_or_create(
                group_by=group_by,
                defaults={
                    "computed_at": now,
                    "duration_ms": durations[group_by],
                    "groups": groups,
                    "generation": generation,
                },
            )
    return durations


def stale_since() -> datetime | None:
    """When the oldest change the snapshots do not include was made; None when they include every change."""
    return StatsChange.objects.aggregate(oldest=Min("changed_at"))["oldest"]


def refresh_after_commit() -> None:
    """The caller changed what the statistics count: once its transaction commits, queue a refresh (collapsed
    into one already queued). The staleness itself is recorded by the database triggers, in the
    transaction."""
    transaction.on_commit(request_refresh)


def request_refresh() -> bool:
    """Queue one refresh STATS_REFRESH_DEBOUNCE from now if the snapshots are stale and none is queued yet.
    Returns whether this call queued it.

    Every change during the debounce joins the queued refresh: N removals in a burst cost one or two
    recomputations, not N. A request that has not started within STATS_REFRESH_LEASE (lost with its broker)
    no longer blocks a new one; beat's periodic refresh covers a request that could not be queued at all.
    """
    now = timezone.now()
    table = StatsRefresh._meta.db_table
    with connection.cursor() as cursor:  # one statement: a delivery worker may ask once per mail
        cursor.execute(
            f"""INSERT INTO {table} AS r (id, requested_at, refreshes, error)
                SELECT 1, %(now)s, 0, '' WHERE EXISTS (SELECT 1 FROM {StatsChange._meta.db_table})
                ON CONFLICT (id) DO UPDATE SET requested_at = EXCLUDED.requested_at
                WHERE r.requested_at IS NULL OR r.requested_at < %(cutoff)s
                RETURNING id""",
            {"now": now, "cutoff": now - timedelta(seconds=settings.STATS_REFRESH_LEASE)},
        )
        queued = cursor.fetchone() is not None
    if not queued:
        return False
    try:
        # No publish retries: a delivery worker asks after every mail, and must not wait on a broker that is
        # down.
        enqueue.send(
            enqueue.REFRESH_STATS,
            kwargs={"requested_at": now.isoformat()},
            countdown=settings.STATS_REFRESH_DEBOUNCE,
            retry=False,
        )
    except KombuOperationalError:
        # The request stays recorded, so callers do not try the broker again for STATS_REFRESH_LEASE; beat's
        # periodic refresh (or the lease running out) covers the refresh that could not be queued.
        logger.warning("statistics refresh could not be queued; beat's periodic refresh will do it")
        return False
    return True


def run_refresh(*, now: datetime, requested_at: datetime | None = None) -> dict[str, int] | None:
    """One refresh, as the task runs it: clear the queued request, take the claim, recompute, release.

    A debounced run names the request it was queued for (`requested_at`) and does nothing unless that request
    is still the pending one: a task delivered twice, or one left from a request a refresh already served,
    costs no recomputation. Beat's periodic run names none and always recomputes.

    Returns the milliseconds per grouping, or None when another refresh holds the claim (that one looks again
    for changes after it released it, so none is left behind). A change that arrived during the computation
    queues the next refresh. A failing computation records `failed_at` and `error`, leaves the snapshots stale
    (served live meanwhile) and raises; the next request or beat's periodic refresh repairs them.
    """
    cutoff = now - timedelta(seconds=settings.STATS_REFRESH_LEASE)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {StatsRefresh._meta.db_table} (id, refreshes, error) VALUES (1, 0, '')
                    ON CONFLICT (id) DO NOTHING"""
            )
        state = StatsRefresh.objects.select_for_update().get(pk=1)
        if requested_at is not None and state.requested_at != requested_at:
            return None
        claimed = state.started_at is None or state.started_at < cutoff
        StatsRefresh.objects.filter(pk=1).update(
            requested_at=None, **({"started_at": now} if claimed else {})
        )
    if not claimed:
        return None
    try:
        durations = refresh_snapshots(now=now)
    except Exception as exc:
        StatsRefresh.objects.filter(pk=1).update(
            started_at=None, failed_at=timezone.now(), error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    StatsRefresh.objects.filter(pk=1).update(
        started_at=None, finished_at=timezone.now(), error="", refreshes=F("refreshes") + 1
    )
    request_refresh()  # only if a change came in meanwhile
    return durations


def time_to_removal(
    *, group_by: str, now: datetime, since=None, until=None, notice_type=None, fresh: bool = False, **narrow
) -> dict:
    """What the API and the dashboard show: the latest snapshot when the question is the unfiltered one, the
    snapshot includes every change made so far (nothing in StatsChange) and it is recent
    (STATS_SNAPSHOT_MAX_AGE); else a live computation — so a removal, a reappearance or a first notice is in
    the figures the moment it is committed. A snapshot that cannot be served asks for a refresh.

    Says which it is (`source`), as of when (`as_of`, also `computed_at`) and how old (`age_seconds`).
    """
    narrow = {name: value for name, value in narrow.items() if value is not None}
    unfiltered = not (since or until or notice_type or fresh or narrow)
    if unfiltered and group_by in SNAPSHOT_GROUPS:  # the network groupings keep no snapshot: always live
        snapshot = StatsSnapshot.objects.filter(group_by=group_by).first()
        current = snapshot is not None and stale_since() is None
        if current and (now - snapshot.computed_at).total_seconds() <= settings.STATS_SNAPSHOT_MAX_AGE:
            return _answer("snapshot", snapshot.computed_at, snapshot.groups, now=now)
        transaction.on_commit(request_refresh)
    groups = live_stats(
        group_by=group_by, now=now, since=since, until=until, notice_type=notice_type, **narrow
    )
    return _answer("live", now, groups, now=now)


def distribution(*, now: datetime, **filters) -> dict:
    """Removed cases per band of time to removal (by each bound) and the cases still up, as of now."""
    return stats_columns.distribution(stats_columns.current_cases(), now=now, **filters)


def live_stats(*, group_by: str, now: datetime, survival: bool = True, **filters) -> list[dict]:
    """The figures of `ttr_stats` for the database as it is now, from the cases held as columns in memory
    (selectors/stats_columns.py): any filter combination in milliseconds at a million cases. The columns are
    read again whenever a change the statistics count has been recorded since they were read.

    The network vocabulary's dimensions (NETWORK_GROUPS: each case's current assessment, not a value at
    first notice) are not among the columns: those questions, grouped or filtered by one, run the SQL
    form."""
    if group_by in NETWORK_GROUPS or _reads_assessments(filters):
        groups = ttr_stats(group_by=group_by, now=now, **filters)
        return groups if survival else [{k: v for k, v in g.items() if k != "survival"} for g in groups]
    return stats_columns.figures(
        stats_columns.current_cases(), group_by=group_by, now=now, survival=survival, **filters
    )


def _answer(source: str, as_of: datetime, groups: list[dict], *, now: datetime) -> dict:
    age = max(0, int((now - as_of).total_seconds()))
    return {"computed_at": as_of, "as_of": as_of, "age_seconds": age, "source": source, "groups": groups}
