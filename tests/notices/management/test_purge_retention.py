"""`manage.py purge_retention [--dry-run] [--now ISO-TIME]`, the beat task and its schedule entry."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from notices.models import AuditEvent, RetentionPolicy, Url
from notices.services.assessment import assess_url
from notices.tasks import purge_retention
from tracker.schedule import beat_schedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def old_report(make_case, provider, analyst, now):
    """A report judged not illegal 100 days ago (the default retention for those is 90 days)."""
    case = make_case(
        "http://files.polder.example/old.html", provider=provider, when=now - timedelta(days=100)
    )
    assess_url(url=case, analyst=analyst, legality="not_illegal", now=now - timedelta(days=100))
    Url.objects.filter(pk=case.pk).update(next_check_at=None)
    return case


def run(*args) -> str:
    out = io.StringIO()
    call_command("purge_retention", *args, "--no-progress", stdout=out)
    return out.getvalue()


def test_dry_run_reports_and_writes_nothing(old_report, settings):
    settings.RETENTION_NOT_ILLEGAL_DAYS = 90

    assert run("--dry-run").startswith("Would purge 1 case(s) ended before ")
    assert Url.objects.get(pk=old_report.pk).purged_at is None
    assert not AuditEvent.objects.exists()


def test_now_is_a_parameter(old_report, settings, now):
    settings.RETENTION_NOT_ILLEGAL_DAYS = 90
    assert run("--now", (now - timedelta(days=20)).isoformat()).startswith("Purged 0 case(s)")
    assert run("--now", now.date().isoformat()).startswith("Purged 1 case(s)")
    assert Url.objects.get(pk=old_report.pk).canonical == ""
    assert list(AuditEvent.objects.values_list("action", "data__via", "data__counts__urls")) == [
        ("retention.purge", "command", None),
        ("retention.purge", "command", 1),
    ]


def test_a_wrong_time_is_a_clear_error(db):
    with pytest.raises(CommandError, match="not an ISO 8601 date-time"):
        run("--now", "next tuesday")


def test_the_scheduled_task_obeys_the_retention_settings(old_report):
    RetentionPolicy.objects.create(pk=1, not_illegal_days=90, purge_enabled=False)
    assert purge_retention.apply().get() == 0
    assert not AuditEvent.objects.exists()

    RetentionPolicy.objects.filter(pk=1).update(purge_enabled=True)
    assert purge_retention.apply().get() == 1
    assert AuditEvent.objects.get().data["via"] == "schedule"


def test_beat_runs_the_purge_daily(settings):
    entry = beat_schedule()["retention-purge"]
    assert (entry["task"], entry["schedule"]) == ("notices.purge_retention", 86400)
    assert purge_retention.name == "notices.purge_retention"
