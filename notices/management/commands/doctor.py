"""`manage.py doctor`: the health of a deployment in one table; exit 0 healthy, 1 when something is wrong.

Reads what `/metrics` serves (notices/selectors/operations.py) and judges it: outbox backlog and the age of
its oldest unsent mail, due-check and escalation lag, expired claims, failing contacts, registry data age,
statistics snapshot age, check partitions and the broker's queues. WARN rows are worth a look and do not
fail the exit code unless `--strict` is given.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notices.infra import enqueue
from notices.selectors import operations
from tracker import queues

OK, WARN, FAIL = "ok", "WARN", "FAIL"


@dataclass
class Row:
    check: str
    state: str
    value: str
    note: str = ""


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds} s"


def judge(ops: operations.Operations, depths: dict, *, lag_limit: float, registry_limit: float) -> list[Row]:
    rows = []
    oldest = ops.outbox_oldest_unsent_age
    rows.append(
        Row(
            "outbox backlog",
            FAIL if oldest > lag_limit else OK,
            f"{ops.outbox_backlog} unsent, oldest {_duration(oldest)}",
            "mail is not going out: are the mail workers and SMTP up?" if oldest > lag_limit else "",
        )
    )
    rows.append(
        Row(
            "outbox failures",
            WARN if ops.outbox_failed_recent else OK,
            f"{ops.outbox_failed_recent} given up in the last day",
            "see the analyst alerts" if ops.outbox_failed_recent else "",
        )
    )
    hooks = ops.webhook_oldest_unsent_age
    rows.append(
        Row(
            "webhook backlog",
            FAIL if hooks > lag_limit else OK,
            f"{ops.webhook_backlog}, oldest {_duration(hooks)}",
        )
    )
    lag = ops.due_check_lag
    rows.append(
        Row(
            "due checks",
            FAIL if lag > lag_limit else OK,
            f"{ops.due_checks} due, oldest waiting {_duration(lag)}",
            "the checks queue is behind: more check workers?" if lag > lag_limit else "",
        )
    )
    lag = ops.escalation_lag
    rows.append(
        Row(
            "due escalations",
            FAIL if lag > lag_limit else OK,
            f"{ops.due_escalations} due, oldest waiting {_duration(lag)}",
            "is beat running?" if lag > lag_limit else "",
        )
    )
    expired = sum(ops.claims_expired.values())
    detail = ", ".join(f"{queue} {n}" for queue, n in sorted(ops.claims_expired.items()) if n)
    rows.append(
        Row("expired claims", WARN if expired else OK, str(expired), detail and f"a worker died: {detail}")
    )
    failing = ops.failing_contacts
    rows.append(
        Row(
            "failing contacts",
            WARN if failing else OK,
            str(operations.failing_contact_count()),
            "; ".join(f"{provider} <{email}>" for provider, email in failing[:5]),
        )
    )
    if not ops.registry_age:
        rows.append(Row("registry data", WARN, "none active", "run `manage.py import_registry`"))
    for dataset, age in sorted(ops.registry_age.items()):
        stale = age > registry_limit
        rows.append(
            Row(
                f"registry {dataset}",
                WARN if stale else OK,
                f"{_duration(age)} old",
                "stale: import anew" * stale,
            )
        )
    if ops.snapshot_age is None:
        rows.append(
            Row("statistics snapshot", WARN, "none yet", "beat computes one every STATS_REFRESH_INTERVAL")
        )
    else:
        old = ops.snapshot_age > settings.STATS_SNAPSHOT_MAX_AGE
        rows.append(
            Row(
                "statistics snapshot",
                FAIL if old else OK,
                f"{_duration(ops.snapshot_age)} old",
                "older than STATS_SNAPSHOT_MAX_AGE: is the statistics worker up?" if old else "",
            )
        )
    if not ops.partitioned:
        rows.append(Row("check partitions", FAIL, "not partitioned", "migration 0032 not applied?"))
    else:
        missing = ops.partitions_missing
        rows.append(
            Row(
                "check partitions",
                FAIL if missing else OK,
                f"{ops.partition_count} partitions, ~{ops.check_rows_estimate} checks",
                f"missing {', '.join(missing)}" if missing else "",
            )
        )
        rows.append(
            Row(
                "default partition",
                WARN if ops.default_partition_rows else OK,
                f"{ops.default_partition_rows} rows",
                "checks outside every month: see README 'Data that grows'"
                if ops.default_partition_rows
                else "",
            )
        )
    if all(depth is None for depth in depths.values()):
        rows.append(Row("broker", FAIL, "unreachable", "workers get no work"))
    else:
        rows.append(Row("queues", OK, ", ".join(f"{queue} {depth}" for queue, depth in depths.items())))
    rows.append(Row("database size", OK, f"{operations.database_size() / 2**30:.2f} GiB"))
    return rows


class Command(BaseCommand):
    help = "Print the health of this deployment (backlogs, lags, failing contacts, stale data)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--lag-limit", type=float, default=600, help="Seconds of backlog age that fail.")
        parser.add_argument(
            "--registry-max-age",
            type=float,
            default=14 * 86400,
            help="Seconds after which registry data is stale.",
        )
        parser.add_argument("--strict", action="store_true", help="WARN rows fail the exit code too.")

    def handle(self, *args, **options) -> None:
        ops = operations.read(timezone.now())
        depths = {
            queue: depth
            for queue, depth in zip(
                queues.QUEUES,
                enqueue.queue_depths([queues.named(q) for q in queues.QUEUES]).values(),
                strict=True,
            )
        }
        rows = judge(ops, depths, lag_limit=options["lag_limit"], registry_limit=options["registry_max_age"])
        widths = [
            max(len(getattr(r, name)) for r in [*rows, Row("check", "state", "value")])
            for name in ("check", "state", "value")
        ]
        header = Row("check", "state", "value", "note")
        for row in [header, *rows]:
            cells = [
                row.check.ljust(widths[0]),
                row.state.ljust(widths[1]),
                row.value.ljust(widths[2]),
                row.note,
            ]
            self.stdout.write("  ".join(cells).rstrip())
        bad = [r for r in rows if r.state == FAIL or (options["strict"] and r.state == WARN)]
        if bad:
            raise CommandError(f"unhealthy: {', '.join(r.check for r in bad)}")
        self.stdout.write("Healthy." if not any(r.state == WARN for r in rows) else "Healthy, with warnings.")
