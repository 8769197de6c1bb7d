"""The state of a deployment read from the database: backlogs, lags, expired claims, failing contacts, stale
registry data, snapshot age and the check partitions. `/metrics` serves these as gauges at scrape time (every
web process answers the same, so they need no multiprocess files); `manage.py doctor` prints them as a table.

Every query is an index probe or a count over a queue's own partial index or a small table: safe to run every
scrape at national scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, Max, Min

from notices.enums import OutboxStatus
from notices.infra import partitions
from notices.models import (
    DueCheck,
    OutgoingMessage,
    ProviderContact,
    RegistryImport,
    StatsSnapshot,
    Url,
    WebhookDelivery,
)


@dataclass
class Operations:
    """One reading, as of `now`. Ages and lags are seconds (0 when nothing waits)."""

    now: datetime
    outbox_backlog: int = 0  # pending or sending
    outbox_oldest_unsent_age: float = 0.0
    outbox_failed_recent: int = 0  # given up within the last day
    webhook_backlog: int = 0
    webhook_oldest_unsent_age: float = 0.0
    claims_expired: dict[str, int] = field(default_factory=dict)  # queue → claims past their time
    due_checks: int = 0  # URLs whose check is due now
    due_check_lag: float = 0.0  # how long the oldest due check has waited
    due_escalations: int = 0
    escalation_lag: float = 0.0
    import_runs: dict[tuple[str, str], int] = field(default_factory=dict)  # (dataset, status) → runs
    registry_age: dict[str, float] = field(default_factory=dict)  # dataset → age of its active data
    failing_contacts: list[tuple[str, str]] = field(default_factory=list)  # (provider, e-mail)
    snapshot_age: float | None = None  # None: no statistics snapshot yet
    partitioned: bool = True
    partitions_missing: list[str] = field(default_factory=list)  # this month's or next month's
    partition_count: int = 0
    check_rows_estimate: int = 0  # the planner's estimate over every partition
    default_partition_rows: int = 0


def _age(now: datetime, at: datetime | None) -> float:
    return max(0.0, (now - at).total_seconds()) if at else 0.0


def read(now: datetime, *, failing_limit: int = 20) -> Operations:
    ops = Operations(now=now)
    unsent = OutgoingMessage.objects.filter(status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING])
    outbox = unsent.aggregate(n=Count("pk"), oldest=Min("created_at"))
    ops.outbox_backlog, ops.outbox_oldest_unsent_age = outbox["n"], _age(now, outbox["oldest"])
    ops.outbox_failed_recent = OutgoingMessage.objects.filter(
        status=OutboxStatus.FAILED, created_at__gte=now - timedelta(days=1)
    ).count()
    pending = [WebhookDelivery.Status.PENDING, WebhookDelivery.Status.SENDING]
    hooks = WebhookDelivery.objects.filter(status__in=pending).aggregate(
        n=Count("pk"), oldest=Min("created_at")
    )
    ops.webhook_backlog, ops.webhook_oldest_unsent_age = hooks["n"], _age(now, hooks["oldest"])
    ops.claims_expired = {
        "outbox": unsent.filter(status=OutboxStatus.SENDING, claimed_until__lt=now).count(),
        "webhooks": WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.SENDING, claimed_until__lt=now
        ).count(),
        "checks": DueCheck.objects.filter(claimed_until__lt=now).count(),
    }
    due = DueCheck.objects.filter(due_at__lte=now).aggregate(n=Count("pk"), oldest=Min("due_at"))
    ops.due_checks, ops.due_check_lag = due["n"], _age(now, due["oldest"])
    escalations = Url.objects.filter(next_escalation_at__lte=now).aggregate(
        n=Count("pk"), oldest=Min("next_escalation_at")
    )
    ops.due_escalations, ops.escalation_lag = escalations["n"], _age(now, escalations["oldest"])
    runs = RegistryImport.objects.values_list("dataset", "status").annotate(n=Count("pk")).order_by()
    ops.import_runs = {(dataset, status): n for dataset, status, n in runs}
    active = RegistryImport.objects.filter(status=RegistryImport.Status.ACTIVE).values_list("dataset")
    ops.registry_age = {
        dataset: _age(now, at) for dataset, at in active.annotate(at=Max("data_time")).order_by()
    }
    failing = ProviderContact.objects.filter(failing=True).select_related("provider").order_by("-failed_at")
    ops.failing_contacts = [(c.provider.name, c.email) for c in failing[:failing_limit]]
    snapshot = StatsSnapshot.objects.aggregate(at=Max("computed_at"))["at"]
    ops.snapshot_age = _age(now, snapshot) if snapshot else None
    _read_partitions(ops, now)
    return ops


def _read_partitions(ops: Operations, now: datetime) -> None:
    ops.partitioned = partitions.is_partitioned()
    if not ops.partitioned:
        return
    found = partitions.partitions()
    names = {p.name for p in found}
    ops.check_rows_estimate = sum(p.rows_estimate for p in found)
    this_month = partitions.month_of(now)
    wanted = [partitions.name_of(this_month), partitions.name_of(partitions.add_months(this_month, 1))]
    ops.partitions_missing = [name for name in wanted if name not in names]
    ops.partition_count = len(names)
    ops.default_partition_rows = partitions.default_rows() if partitions.DEFAULT_PARTITION in names else 0


def failing_contact_count() -> int:
    return ProviderContact.objects.filter(failing=True).count()


def database_size() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return cursor.fetchone()[0]
