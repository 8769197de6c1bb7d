"""P15: the check table partitioned by month (notices/infra/partitions.py) versus one plain table, same run.

~100 M check rows are simulated by partition count: MONTHS monthly partitions of the real notices_check table
(ten years at full scale) with modest rows each, and an unpartitioned copy (`bench_check_plain`, the same
columns, primary key and check_url_idx) holding the very same rows. What partitioning changes grows with the
number of partitions, not the rows in each (a partition's B-tree is a level shallower than one table's at
most), so the partition count is what is simulated at scale.

- insert rate: check rows/s for this month, in statements of RECORD_CHUNK rows as the recorder writes them
  (notices/services/urls.py), into the partitioned table versus the plain one: ROUNDS interleaved rounds,
  medians compared.
- latest check of a URL: (a) at `Url.last_checked_at` — the pointer on the URL row: pruned to one partition,
  one probe of check_url_idx — and (b) without the pointer (ORDER BY checked_at DESC LIMIT 1: one probe per
  partition, merged), both versus the plain table's ORDER BY … LIMIT 1. Median over LOOKUPS random URLs.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime

from benchmarks.harness import Result, Stopwatch, log, reset_database

SIZES = {
    "small": {"months": 60, "urls": 2_000, "per_month": 5, "inserts": 50_000},
    "full": {"months": 120, "urls": 20_000, "per_month": 5, "inserts": 500_000},
}
PLAIN = "bench_check_plain"
RECORD_CHUNK = 1000
LOOKUPS = 500
ROUNDS = 3
COLUMNS = "url_id, checked_at, outcome, status_code, final_url, error_class, elapsed_ms, redirects, vantage"


def _load(months: int, urls: int, per_month: int) -> int:
    """URLs, monthly partitions back from this month, the same check rows in both tables; rows per table."""
    from django.db import connection
    from django.utils import timezone

    from notices.infra import partitions

    this_month = partitions.month_of(timezone.now())
    first = partitions.add_months(this_month, -(months - 1))
    for n in range(months + 1):
        partitions.create_month(partitions.add_months(first, n))
    start = datetime(first.year, first.month, 1, tzinfo=UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO notices_url (original, canonical, canonical_hash, host, status, first_reported_at,
                    created_at, consecutive_gone, reappearance_count, country_at_notice,
                    notice_type_at_notice, last_outcome, first_gone_vantage)
               SELECT u, u, sha256(u::bytea), 'p.example', 'notified', now(), now(), 0, 0, '',
                      'hotline_notice', 'live', ''
               FROM generate_series(1, %s) AS g, LATERAL (SELECT 'http://p.example/' || g) AS x(u)""",
            [urls],
        )
        cursor.execute(f"DROP TABLE IF EXISTS {PLAIN}")
        cursor.execute(f"CREATE TABLE {PLAIN} (LIKE notices_check INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        cursor.execute(f"ALTER TABLE {PLAIN} ADD PRIMARY KEY (id)")
        cursor.execute(f"CREATE INDEX {PLAIN}_url_idx ON {PLAIN} (url_id, checked_at DESC)")
        # Month m, URL u, check j: spread over the month's first 28 days, every URL checked in every month.
        rows_sql = """SELECT u.id, %(start)s::timestamptz + m * interval '1 month'
                              + ((u.id * 7919 + j * 104729) %% 2419200) * interval '1 second',
                              'live', 200, '', '', 100, 0, 'direct'
                       FROM generate_series(0, %(months)s - 1) AS m, generate_series(1, %(per)s) AS j,
                            notices_url AS u"""
        params = {"start": start, "months": months, "per": per_month}
        cursor.execute(f"INSERT INTO notices_check ({COLUMNS}) {rows_sql}", params)
        rows = cursor.rowcount
        cursor.execute(f"INSERT INTO {PLAIN} SELECT * FROM notices_check")
        cursor.execute(
            """UPDATE notices_url AS u SET last_checked_at = c.at
               FROM (SELECT url_id, max(checked_at) AS at FROM notices_check GROUP BY url_id) AS c
               WHERE c.url_id = u.id"""
        )
        cursor.execute("ANALYZE notices_check")
        cursor.execute(f"ANALYZE {PLAIN}")
        cursor.execute("ANALYZE notices_url")
    return rows


def _insert_rate(table: str, n: int) -> float:
    """Rows/s inserting `n` check rows of now, RECORD_CHUNK per statement, one transaction per statement."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("SELECT array_agg(id) FROM notices_url")
        url_ids = cursor.fetchone()[0]
    chunks = [
        [url_ids[(start + i) % len(url_ids)] for i in range(min(RECORD_CHUNK, n - start))]
        for start in range(0, n, RECORD_CHUNK)
    ]
    with Stopwatch() as sw:
        for chunk in chunks:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"""INSERT INTO {table} ({COLUMNS})
                        SELECT id, now(), 'gone', 404, '', '', 50, 0, 'direct'
                        FROM unnest(%s::bigint[]) AS id""",
                    [chunk],
                )
    return n / sw.seconds


def _lookup_ms(statement: str, urls: list[tuple[int, datetime]], with_time: bool) -> float:
    """Median ms of one latest-check lookup (a prepared-statement-like repeat of the same SQL)."""
    from django.db import connection

    times = []
    with connection.cursor() as cursor:
        for url_id, at in urls:
            params = [url_id, at] if with_time else [url_id]
            started = time.perf_counter()
            cursor.execute(statement, params)
            row = cursor.fetchone()
            times.append((time.perf_counter() - started) * 1000)
            if row is None:
                raise RuntimeError(f"no latest check found for URL {url_id}")
    return statistics.median(times)


def _plan(statement: str, params: list) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + statement, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def run(scale: str) -> list[Result]:
    from django.db import connection

    size = SIZES[scale]
    reset_database()
    log(
        f"P15: {size['months']} monthly partitions, {size['urls']:,} URLs × {size['per_month']} checks"
        " a month"
    )
    rows = _load(size["months"], size["urls"], size["per_month"])
    log(f"P15: {rows:,} check rows in each table ({rows // size['months']:,} per partition)")
    common = {"id": "P15", "scale": scale, "n": rows}
    rates = {"notices_check": [], PLAIN: []}
    for _ in range(ROUNDS):  # interleaved, medians compared: the machine's noise hits both alike
        for table, found in rates.items():
            found.append(_insert_rate(table, size["inserts"] // ROUNDS))
    part_rate, plain_rate = statistics.median(rates["notices_check"]), statistics.median(rates[PLAIN])
    log(f"P15: inserts partitioned {part_rate:,.0f}/s, plain {plain_rate:,.0f}/s")

    with connection.cursor() as cursor:
        cursor.execute("SELECT id, last_checked_at FROM notices_url")
        all_urls = cursor.fetchall()
    urls = random.Random(13).sample(all_urls, min(LOOKUPS, len(all_urls)))
    pointer = "SELECT id, outcome FROM notices_check WHERE url_id = %s AND checked_at = %s"
    scan = "SELECT id, outcome FROM notices_check WHERE url_id = %s ORDER BY checked_at DESC LIMIT 1"
    plain = f"SELECT id, outcome FROM {PLAIN} WHERE url_id = %s ORDER BY checked_at DESC LIMIT 1"
    log("P15: plan of the pointer lookup:\n" + _plan(pointer, list(urls[0])))
    # Inserts above made "now" checks newer than last_checked_at: the pointer lookup reads the row it names,
    # the ORDER BY lookups the newest; both are one row of one URL, as the product reads them.
    pointer_ms = _lookup_ms(pointer, urls, with_time=True)
    scan_ms = _lookup_ms(scan, urls, with_time=False)
    plain_ms = _lookup_ms(plain, urls, with_time=False)
    log(
        f"P15: latest check: pointer {pointer_ms:.3f} ms, scan {scan_ms:.3f} ms,"
        f" plain table {plain_ms:.3f} ms"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {PLAIN}")
    reset_database()
    per = f"{size['months']} partitions"
    return [
        Result.compare(
            name=f"check inserts/s, partitioned ({per})",
            value=part_rate,
            unit="rows/s",
            better="higher",
            target="≥ 0.5×",
            baseline="unpartitioned table",
            baseline_value=plain_rate,
            **common,
        ),
        Result.compare(
            name=f"latest check by Url.last_checked_at, partitioned ({per})",
            value=pointer_ms,
            unit="ms",
            better="lower",
            target="≤ 2×",
            baseline="unpartitioned table, ORDER BY LIMIT 1",
            baseline_value=plain_ms,
            **common,
        ),
        Result.compare(
            name=f"latest check by ORDER BY LIMIT 1, partitioned ({per})",
            value=scan_ms,
            unit="ms",
            better="lower",
            target="report",
            baseline="unpartitioned table, ORDER BY LIMIT 1",
            baseline_value=plain_ms,
            **common,
        ),
    ]
