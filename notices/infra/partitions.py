"""Monthly range partitions of the check table (notices_check, partitioned by `checked_at`; migration 0032).

One partition per calendar month (UTC), `notices_check_pYYYYMM`, made ahead by beat
(`notices.maintain_check_partitions`, CHECK_PARTITIONS_AHEAD months), and a default partition that catches a
row no monthly one covers (a clock far off, a month not made in time): `manage.py check_restore` and
`manage.py doctor` report rows there. Retention (CHECK_RETENTION_MONTHS) drops whole monthly partitions —
one DROP TABLE, no row-by-row DELETE, no dead tuples, no vacuum debt.

The primary key of a partitioned table must contain the partition key: it is (id, checked_at). Django still
sees `id` as the key (ids stay unique: one sequence feeds every partition), and nothing references a check
row by foreign key. The latest check of a URL is the row at `Url.last_checked_at`: with that time the lookup
prunes to one partition and one probe of check_url_idx (url_id, checked_at DESC).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db import connection, transaction

logger = logging.getLogger(__name__)

TABLE = "notices_check"
DEFAULT_PARTITION = f"{TABLE}_default"
PREFIX = f"{TABLE}_p"
# One transaction at a time changes the partitions (two beats, a command and beat): the others wait.
_LOCK_KEY = 0x6E636B70  # "nckp"
# ATTACH and DROP wait at most this long for their lock on the check table: waiting longer would queue every
# insert of checks behind them (behind a long report query, say). A timeout fails the task; beat tries again.
LOCK_TIMEOUT = "10s"


@dataclass(frozen=True)
class Partition:
    name: str
    month: date | None  # None: the default partition
    rows_estimate: int


def month_of(at: datetime | date) -> date:
    return date(at.year, at.month, 1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def name_of(month: date) -> str:
    return f"{PREFIX}{month:%Y%m}"


def _bound(month: date) -> str:
    return datetime(month.year, month.month, 1, tzinfo=UTC).isoformat()


def is_partitioned() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [TABLE])
        return cursor.fetchone() is not None


def partitions() -> list[Partition]:
    """The partitions there are, oldest month first, the default partition last (row counts are the
    planner's estimates: reltuples, never a scan)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname, greatest(c.reltuples, 0)::bigint
               FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname""",
            [TABLE],
        )
        rows = cursor.fetchall()
    found = []
    for name, estimate in rows:
        month = None
        if name.startswith(PREFIX) and name[len(PREFIX) :].isdigit():
            stamp = name[len(PREFIX) :]
            month = date(int(stamp[:4]), int(stamp[4:]), 1)
        found.append(Partition(name=name, month=month, rows_estimate=estimate))
    return sorted(found, key=lambda p: (p.month is None, p.month or date.min))


def default_rows() -> int:
    """Rows in the default partition (counted: it should be empty, so this is cheap when all is well)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {DEFAULT_PARTITION}")
        return cursor.fetchone()[0]


def create_month(month: date) -> bool:
    """Make the partition of `month` unless it exists; rows of that month caught in the default partition
    move into it first. Returns whether it was made. Made as a table of its own, then attached: ATTACH takes
    a lighter lock on the check table than CREATE … PARTITION OF, so inserts of checks go on meanwhile."""
    name, low, high = name_of(month), _bound(month), _bound(add_months(month, 1))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_TIMEOUT])
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        if cursor.fetchone()[0]:
            return False
        cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        cursor.execute(
            f"""WITH moved AS (DELETE FROM {DEFAULT_PARTITION}
                               WHERE checked_at >= %s AND checked_at < %s RETURNING *)
                INSERT INTO {name} SELECT * FROM moved""",
            [low, high],
        )
        if cursor.rowcount:
            logger.warning(
                "check partitions: moved %d rows of %s out of the default partition", cursor.rowcount, month
            )
        cursor.execute(
            f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)", [low, high]
        )
    logger.info("check partitions: made %s", name)
    return True


def ensure_ahead(now: datetime, ahead: int) -> list[str]:
    """Make the partitions of this month and the next `ahead` months that do not exist yet; their names."""
    current = month_of(now)
    return [name_of(m) for m in (add_months(current, n) for n in range(ahead + 1)) if create_month(m)]


def expired(now: datetime, retention_months: int) -> list[Partition]:
    """The monthly partitions wholly older than `retention_months` full months before this month."""
    if retention_months <= 0:
        return []
    cutoff = add_months(month_of(now), -retention_months)
    return [p for p in partitions() if p.month is not None and add_months(p.month, 1) <= cutoff]


def drop_expired(now: datetime, retention_months: int) -> list[str]:
    """Retention: drop the expired monthly partitions whole (never a DELETE); their names. The default
    partition is never dropped."""
    dropped = []
    for partition in expired(now, retention_months):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_TIMEOUT])
            cursor.execute(f"DROP TABLE IF EXISTS {partition.name}")
        logger.info("check partitions: dropped %s (retention %d months)", partition.name, retention_months)
        dropped.append(partition.name)
    return dropped
