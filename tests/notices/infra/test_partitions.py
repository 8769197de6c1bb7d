"""The check table by month: partitions made ahead, stray rows moved out of the default, retention by dropping
whole months, the latest check of a URL on one partition, and the migration keeping every row."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from notices.infra import partitions
from notices.models import Check, Url
from notices.services.intake import ReportInput, submit_report
from notices.tasks import maintain_check_partitions

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module("notices.migrations.0032_ops_scale")


def _url(n: int = 0) -> Url:
    result = submit_report(item=ReportInput(url=f"http://parts.example/{n}.html"), now=timezone.now())
    return Url.objects.get(pk=result.url_id)


def _check(url: Url, at: datetime) -> Check:
    return Check.objects.create(url=url, checked_at=at, outcome="live", status_code=200)


def _home(check: Check) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM notices_check WHERE id = %s", [check.pk])
        return cursor.fetchone()[0]


def test_the_check_table_is_partitioned_by_month_with_this_and_next_month_and_a_default():
    assert partitions.is_partitioned()
    now = timezone.now()
    names = {p.name for p in partitions.partitions()}
    this_month = partitions.month_of(now)
    assert partitions.name_of(this_month) in names
    assert partitions.name_of(partitions.add_months(this_month, 1)) in names
    assert partitions.DEFAULT_PARTITION in names
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT array_agg(a.attname ORDER BY a.attname) FROM pg_index i
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
               WHERE i.indrelid = 'notices_check'::regclass AND i.indisprimary"""
        )
        assert cursor.fetchone()[0] == ["checked_at", "id"]


def test_django_writes_reads_and_deletes_through_the_partitions():
    url = _url()
    now = timezone.now()
    recent, stray = _check(url, now), _check(url, datetime(2001, 5, 3, tzinfo=UTC))
    assert _home(recent) == partitions.name_of(partitions.month_of(now))
    assert _home(stray) == partitions.DEFAULT_PARTITION  # no month made for 2001: the safety net
    assert stray.pk == recent.pk + 1  # one sequence feeds every partition
    assert Check.objects.get(pk=recent.pk).outcome == "live"
    Check.objects.filter(pk=recent.pk).update(final_url="")  # the retention purge's update works too
    assert Check.objects.filter(url=url).delete()[0] == 2  # Django's delete by id, across partitions
    assert not Check.objects.filter(pk__in=[recent.pk, stray.pk]).exists()


def test_making_a_month_moves_its_rows_out_of_the_default_partition_and_is_done_once():
    url = _url()
    month = date(2003, 2, 1)
    inside, outside = (
        _check(url, datetime(2003, 2, 14, tzinfo=UTC)),
        _check(url, datetime(2003, 3, 1, tzinfo=UTC)),
    )
    assert partitions.default_rows() == 2
    assert partitions.create_month(month) is True
    assert partitions.create_month(month) is False
    assert _home(inside) == "notices_check_p200302"
    assert _home(outside) == partitions.DEFAULT_PARTITION
    assert partitions.default_rows() == 1
    assert Check.objects.filter(pk=inside.pk).exists()


def test_ensure_ahead_makes_the_coming_months_and_the_task_does_it_again_harmlessly(settings):
    settings.CHECK_PARTITIONS_AHEAD = 4
    settings.CHECK_RETENTION_MONTHS = 0
    now = timezone.now()
    first = maintain_check_partitions()
    wanted = {partitions.name_of(partitions.add_months(partitions.month_of(now), n)) for n in range(5)}
    assert wanted <= {p.name for p in partitions.partitions()}
    assert set(first["made"]) <= wanted and first["dropped"] == []
    assert maintain_check_partitions() == {"made": [], "dropped": []}


def test_retention_drops_whole_old_months_only():
    url = _url()
    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    for month in (date(2025, 10, 1), date(2025, 11, 1), date(2025, 12, 1)):
        partitions.create_month(month)
        _check(url, datetime(month.year, month.month, 10, tzinfo=UTC))
    current = _check(url, timezone.now())
    stray = _check(url, datetime(1999, 1, 1, tzinfo=UTC))
    with connection.cursor() as cursor:  # as if those rows were committed long ago (the drop runs on its own)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert partitions.drop_expired(now, 0) == []
    assert partitions.drop_expired(now, 12) == ["notices_check_p202510", "notices_check_p202511"]
    names = {p.name for p in partitions.partitions()}
    assert "notices_check_p202510" not in names and "notices_check_p202512" in names
    assert partitions.DEFAULT_PARTITION in names
    assert Check.objects.filter(pk__in=[current.pk, stray.pk]).count() == 2
    assert Check.objects.filter(checked_at=datetime(2025, 12, 10, tzinfo=UTC)).exists()  # the kept month
    assert not Check.objects.filter(
        checked_at__gte=datetime(2025, 10, 1, tzinfo=UTC), checked_at__lt=datetime(2025, 12, 1, tzinfo=UTC)
    ).exists()


def test_the_latest_check_at_the_urls_last_checked_at_reads_one_partition():
    url = _url()
    partitions.ensure_ahead(timezone.now(), 1)
    for month in (date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)):
        partitions.create_month(month)
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT * FROM notices_check WHERE url_id = %s AND checked_at = %s",
            [url.pk, datetime(2026, 2, 7, tzinfo=UTC)],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "notices_check_p202602" in plan
    assert "notices_check_p202601" not in plan and "notices_check_default" not in plan


def test_the_migration_keeps_every_row_and_id_both_ways():
    url = _url()
    now = timezone.now()
    made = [_check(url, now - timedelta(days=40 * n)) for n in range(5)]
    made.append(_check(url, datetime(2002, 7, 1, tzinfo=UTC)))
    before = sorted(Check.objects.values_list("id", "checked_at", "outcome"))
    with connection.cursor() as cursor:  # the rows as if committed before the migration ran
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with connection.schema_editor() as editor:
        MIGRATION.unpartition(None, editor)
        assert not partitions.is_partitioned()
        assert sorted(Check.objects.values_list("id", "checked_at", "outcome")) == before
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        MIGRATION.partition(None, editor)
    assert partitions.is_partitioned()
    assert sorted(Check.objects.values_list("id", "checked_at", "outcome")) == before
    assert partitions.default_rows() == 0  # every month with rows got its partition
    assert "notices_check_p200207" in {p.name for p in partitions.partitions()}
    newer = _check(url, now)
    assert newer.pk > max(c.pk for c in made)


@pytest.mark.django_db(transaction=True)
def test_a_drop_waiting_behind_a_long_reader_gives_up_instead_of_queueing_inserts(monkeypatch):
    import psycopg2
    from django.db import OperationalError

    monkeypatch.setattr(partitions, "LOCK_TIMEOUT", "200ms")
    partitions.create_month(date(2004, 6, 1))
    params = connection.get_connection_params()
    reader = psycopg2.connect(**params)
    try:
        with reader.cursor() as cursor:  # a long report query holds its lock until it ends
            cursor.execute("SELECT count(*) FROM notices_check")
        with pytest.raises(OperationalError, match="lock timeout"):
            partitions.drop_expired(datetime(2026, 12, 3, tzinfo=UTC), 12)
        assert "notices_check_p200406" in {p.name for p in partitions.partitions()}
    finally:
        reader.rollback()
        reader.close()
    assert partitions.drop_expired(datetime(2026, 12, 3, tzinfo=UTC), 12) == ["notices_check_p200406"]
