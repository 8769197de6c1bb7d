"""`manage.py check_restore` (is a restored database whole?) and `manage.py doctor` (is the deployment
healthy?): the table they print and their exit codes, on a sound database and on one broken on purpose."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from notices.infra import partitions
from notices.models import HostingProvider, ProviderContact, Url
from notices.services.intake import ReportInput, submit_report

pytestmark = pytest.mark.django_db


def _run(name: str, *args) -> tuple[str, str | None]:
    out = StringIO()
    try:
        call_command(name, *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), str(exc)
    return out.getvalue(), None


def _sql(statement: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_check_restore_passes_on_a_whole_database():
    submit_report(item=ReportInput(url="http://restore.example/a.html"), now=timezone.now())
    output, error = _run("check_restore")
    assert error is None, output
    for check in ("migrations", "check partitions", "sequences", "triggers", "constraints and indexes"):
        assert f"ok   {check}" in output
    assert "The database is consistent." in output


def test_check_restore_fails_on_a_sequence_behind_its_table():
    url_id = submit_report(item=ReportInput(url="http://restore.example/b.html"), now=timezone.now()).url_id
    _sql("SELECT setval(pg_get_serial_sequence('notices_url', 'id'), %s)", [max(1, url_id - 1)])
    output, error = _run("check_restore")
    assert error is not None and "sequences" in error
    assert "FAIL sequences" in output and "notices_url" in output


def test_check_restore_fails_on_a_missing_trigger_and_a_missing_partition():
    _sql("DROP TRIGGER event_append_only ON notices_event")
    next_month = partitions.name_of(partitions.add_months(partitions.month_of(timezone.now()), 1))
    _sql(f"DROP TABLE {next_month}")
    output, error = _run("check_restore")
    assert error is not None and "triggers" in error and "check partitions" in error
    assert "missing event_append_only on notices_event" in output
    assert f"missing {next_month}" in output


def test_check_restore_fails_on_a_missing_index_and_an_unknown_migration():
    _sql("DROP INDEX duecheck_due_idx")
    _sql(
        "INSERT INTO django_migrations (app, name, applied) VALUES ('notices', '9999_from_the_future', now())"
    )
    output, error = _run("check_restore")
    assert "notices_duecheck.duecheck_due_idx" in output
    assert "notices.9999_from_the_future" in output
    assert "constraints and indexes" in error and "migrations" in error


def test_doctor_is_healthy_on_a_quiet_deployment_and_prints_a_table(broker_url):
    output, error = _run("doctor")
    assert error is None, output
    lines = output.splitlines()
    assert lines[0].split() == ["check", "state", "value", "note"]
    for check in (
        "outbox backlog",
        "due checks",
        "expired claims",
        "failing contacts",
        "statistics snapshot",
    ):
        assert any(line.startswith(check) for line in lines), check
    assert output.rstrip().endswith(("Healthy.", "Healthy, with warnings."))


def test_doctor_fails_on_a_due_check_lag_and_warns_of_failing_contacts(broker_url):
    now = timezone.now()
    url_id = submit_report(item=ReportInput(url="http://doctor.example/late.html"), now=now).url_id
    Url.objects.filter(pk=url_id).update(next_check_at=now - timedelta(hours=2))
    output, error = _run("doctor")
    assert error is not None and "due checks" in error
    row = next(line for line in output.splitlines() if line.startswith("due checks"))
    assert "FAIL" in row and "2.0 h" in row

    Url.objects.filter(pk=url_id).update(next_check_at=now + timedelta(hours=1))
    provider = HostingProvider.objects.create(slug="doctor-host", name="Doctor Hosting")
    ProviderContact.objects.create(
        provider=provider, email="abuse@doctor.example", failing=True, failed_at=now, failure_reason="5.1.1"
    )
    output, error = _run("doctor")
    assert error is None, output
    row = next(line for line in output.splitlines() if line.startswith("failing contacts"))
    assert "WARN" in row and "abuse@doctor.example" in row
    _, strict_error = _run("doctor", "--strict")
    assert strict_error is not None and "failing contacts" in strict_error


def test_doctor_fails_when_the_broker_is_unreachable(settings):
    from tracker.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    try:
        output, error = _run("doctor", "--lag-limit", "86400")
    finally:
        app.conf.broker_url = previous
    assert error is not None and "broker" in error
    assert any(line.startswith("broker") and "FAIL" in line for line in output.splitlines())
