"""Is a (restored) database whole? Migrations, check partitions, sequences, triggers, constraints and indexes.

`manage.py check_restore` runs these after a restore (README "Backups and restore"): a dump restored without
its sequences' values would hand out ids and notice references again; one restored with `--disable-triggers`
habits or from a schema-only copy could miss the append-only triggers; a database older than the code has
migrations to run; a restore of last year's dump may have no partition for this month.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from notices.infra import partitions

# (table, trigger): the database's own rules (migrations 0015, 0025, 0043); a migration adding one adds it.
TRIGGERS = [
    ("notices_url", "url_due_insert"),
    ("notices_url", "url_due_update"),
    *(("notices_url", f"url_stats_{when}") for when in ("insert", "update", "delete", "truncate")),
    *(
        ("notices_removalcycle", f"removalcycle_stats_{when}")
        for when in ("insert", "update", "delete", "truncate")
    ),
    ("notices_event", "event_append_only"),
    ("notices_auditevent", "auditevent_append_only"),
]
REFERENCE_SEQUENCE = "notices_notice_reference_seq"  # TN-YYYY-NNNNNN (notices/services/notices.py)
_REFERENCE = re.compile(r"^TN-\d{4}-(\d+)$")


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str


def run(now: datetime) -> list[Finding]:
    findings = [migrations_applied()]
    findings += partitions_present(now)
    findings += sequences_ahead()
    findings += triggers_present()
    findings += constraints_present()
    return findings


def migrations_applied() -> Finding:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    applied = set(executor.loader.applied_migrations)
    unknown = sorted(f"{app}.{name}" for app, name in applied - set(executor.loader.graph.nodes))
    if plan:
        return Finding(
            "migrations", False, f"{len(plan)} not applied, first {plan[0][0].app_label}.{plan[0][0].name}"
        )
    if unknown:
        return Finding(
            "migrations", False, f"applied but unknown to this code (a newer dump?): {', '.join(unknown)}"
        )
    return Finding("migrations", True, f"all {len(applied)} applied")


def partitions_present(now: datetime) -> list[Finding]:
    if not partitions.is_partitioned():
        return [Finding("check partitions", False, f"{partitions.TABLE} is not a partitioned table")]
    names = {p.name for p in partitions.partitions()}
    this_month = partitions.month_of(now)
    wanted = [partitions.name_of(this_month), partitions.name_of(partitions.add_months(this_month, 1))]
    missing = [name for name in wanted if name not in names]
    found = [
        Finding(
            "check partitions",
            not missing,
            f"missing {', '.join(missing)} (run the task notices.maintain_check_partitions)"
            if missing
            else f"{len(names)} partitions, this and next month present",
        )
    ]
    if partitions.DEFAULT_PARTITION not in names:
        found.append(Finding("default partition", False, f"{partitions.DEFAULT_PARTITION} is missing"))
    else:
        rows = partitions.default_rows()
        found.append(
            Finding("default partition", rows == 0, f"{rows} rows outside every month" if rows else "empty")
        )
    return found


_OWNED_SEQUENCES = """
SELECT s.relname, t.relname, a.attname
FROM pg_class s
JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
    AND d.refclassid = 'pg_class'::regclass
JOIN pg_class t ON t.oid = d.refobjid
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
JOIN pg_namespace n ON n.oid = s.relnamespace
WHERE s.relkind = 'S' AND d.deptype IN ('a', 'i') AND n.nspname = current_schema()
ORDER BY t.relname
"""


def _next_value(cursor, sequence: str) -> int:
    cursor.execute(f'SELECT last_value, is_called FROM "{sequence}"')
    last, called = cursor.fetchone()
    return last + 1 if called else last


def sequences_ahead() -> list[Finding]:
    """Every id sequence hands out a value above its table's largest id; the notice reference sequence one
    above the largest reference number."""
    behind = []
    count = 0
    with connection.cursor() as cursor:
        cursor.execute(_OWNED_SEQUENCES)
        for sequence, table, column in cursor.fetchall():
            count += 1
            cursor.execute(f'SELECT max("{column}") FROM "{table}"')
            largest = cursor.fetchone()[0]
            if largest is not None and _next_value(cursor, sequence) <= largest:
                behind.append(
                    f"{sequence} (next {_next_value(cursor, sequence)}, {table}.{column} max {largest})"
                )
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [REFERENCE_SEQUENCE])
        if not cursor.fetchone()[0]:
            behind.append(f"{REFERENCE_SEQUENCE} is missing")
        else:
            count += 1
            references = apps.get_model("notices", "Notice").objects.values_list("reference", flat=True)
            numbers = [int(m.group(1)) for m in map(_REFERENCE.match, references.iterator()) if m]
            upcoming = _next_value(cursor, REFERENCE_SEQUENCE)
            if numbers and upcoming <= max(numbers):
                behind.append(f"{REFERENCE_SEQUENCE} (next {upcoming}, max {max(numbers)})")
    if behind:
        return [Finding("sequences", False, "behind their tables: " + "; ".join(behind))]
    return [Finding("sequences", True, f"{count} sequences ahead of their largest values")]


def triggers_present() -> list[Finding]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
               WHERE NOT t.tgisinternal"""
        )
        present = {(table, name): enabled for table, name, enabled in cursor.fetchall()}
    missing = [f"{name} on {table}" for table, name in TRIGGERS if (table, name) not in present]
    disabled = [f"{name} on {table}" for table, name in TRIGGERS if present.get((table, name)) == "D"]
    problems = [f"missing {', '.join(missing)}"] * bool(missing) + [f"disabled {', '.join(disabled)}"] * bool(
        disabled
    )
    return [Finding("triggers", not problems, "; ".join(problems) or f"{len(TRIGGERS)} present and enabled")]


def constraints_present() -> list[Finding]:
    """Each model's declared constraints and indexes exist, and no constraint is left NOT VALID."""
    missing = []
    with connection.cursor() as cursor:
        for model in apps.get_app_config("notices").get_models():
            if not model._meta.managed:
                continue
            existing = connection.introspection.get_constraints(cursor, model._meta.db_table)
            for item in [*model._meta.constraints, *model._meta.indexes]:
                if item.name not in existing:
                    missing.append(f"{model._meta.db_table}.{item.name}")
        cursor.execute(
            """SELECT conrelid::regclass::text, conname FROM pg_constraint c
               JOIN pg_namespace n ON n.oid = c.connamespace
               WHERE NOT convalidated AND n.nspname = current_schema()"""
        )
        invalid = [f"{table}.{name}" for table, name in cursor.fetchall()]
    problems = [f"missing {', '.join(missing)}"] * bool(missing) + [f"not valid {', '.join(invalid)}"] * bool(
        invalid
    )
    return [
        Finding("constraints and indexes", not problems, "; ".join(problems) or "all declared ones present")
    ]
