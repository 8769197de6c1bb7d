"""The admin side of escalation: a supervisor edits policies (delays as 24h / 7d / -2h, form errors for the
rest), the analysts' alert queue with its count and actions, the daily digest, the way from
ESCALATION_STEPS."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.core import checks
from django.utils import timezone

from notices.models import AnalystAlert, EscalationPolicy, EscalationStep, Event, Url
from notices.services.alerts import raise_alert, send_digest
from notices.services.responses import record_response

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(client, django_user_model):
    user = django_user_model.objects.create_superuser("chief", "chief@hotline.example", "chief-pass-123")
    client.force_login(user)
    client.user = user
    return client


def policy_form(name="Polder ladder", steps=(), **fields) -> dict:
    data = {
        "name": name,
        "notice_type": "hotline_notice",
        "provider": "",
        "active": "on",
        "note": "",
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for n, step in enumerate(steps):
        data.update({f"steps-{n}-{key}": value for key, value in step.items()})
    return data


def step(position, action, anchor, delay, every="", times="") -> dict:
    return {
        "position": position,
        "action": action,
        "anchor": anchor,
        "delay": delay,
        "repeat_every": every,
        "repeat_times": times,
    }


# --- Policies ---------------------------------------------------------------------------------------------


def test_supervisor_creates_a_provider_policy_with_a_ladder(supervisor, provider):
    response = supervisor.post(
        "/admin/notices/escalationpolicy/add/",
        policy_form(
            provider=provider.pk,
            steps=[
                step(1, "repeat_notice", "deadline", "-2h"),
                step(2, "repeat_notice", "notice", "1d", every="12h", times="4"),
                step(3, "upstream_notice", "previous", "90m"),
            ],
        ),
    )

    assert response.status_code == 302
    policy = EscalationPolicy.objects.get(name="Polder ladder")
    assert policy.provider == provider
    assert list(
        policy.steps.values_list("position", "action", "anchor", "delay", "repeat_every", "repeat_times")
    ) == [
        (1, "repeat_notice", "deadline", timedelta(hours=-2), None, None),
        (2, "repeat_notice", "notice", timedelta(days=1), timedelta(hours=12), 4),
        (3, "upstream_notice", "previous", timedelta(minutes=90), None, None),
    ]
    listing = supervisor.get("/admin/notices/escalationpolicy/").content.decode()
    assert (
        "1. -2h from the notice&#x27;s deadline (a negative delay: before it): "
        "Repeat the notice to the provider" in listing
    )
    assert "2. 1d since the notice was sent, every 12h (4 times)" in listing
    edit = supervisor.get(f"/admin/notices/escalationpolicy/{policy.pk}/change/").content.decode()
    assert 'value="-2h"' in edit and 'value="12h"' in edit and 'value="90m"' in edit


@pytest.mark.parametrize(
    ("bad_step", "message"),
    [
        (
            step(1, "repeat_notice", "notice", "soon"),
            "Write a number and a unit: 30s, 90m, 24h, 7d (or -2h).",
        ),
        (step(1, "repeat_notice", "notice", "-2h"), "Only a delay from the deadline may be negative"),
        (step(1, "repeat_notice", "notice", "1d", every="0s"), "A repeat interval must be longer than zero."),
        (step(1, "repeat_notice", "notice", "1d", times="3"), "Give the repeat interval too"),
    ],
)
def test_bad_steps_are_form_errors(supervisor, bad_step, message):
    response = supervisor.post("/admin/notices/escalationpolicy/add/", policy_form(steps=[bad_step]))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not EscalationPolicy.objects.filter(name="Polder ladder").exists()


def test_second_active_default_for_a_type_is_a_form_error(supervisor, default_policies):
    response = supervisor.post("/admin/notices/escalationpolicy/add/", policy_form(name="Another default"))

    assert response.status_code == 200
    assert "Another active default policy has this notice type." in response.content.decode()


def test_default_hotline_policy_is_the_one_issue_17_names(default_policies):
    steps = default_policies["hotline_notice"].steps.order_by("position")
    day = timedelta(days=1)
    assert list(steps.values_list("action", "anchor", "delay", "repeat_every")) == [
        ("repeat_notice", "notice", day, day),
        ("analyst_alert", "notice", 2 * day, None),
        ("upstream_notice", "notice", 3 * day, None),
        ("partner_handoff", "notice", 3 * day, None),
        ("refer_law_enforcement", "notice", 7 * day, None),
        ("refer_dsc", "notice", 7 * day, None),
    ]


# --- The way from ESCALATION_STEPS -----------------------------------------------------------------------

MIGRATION = "notices.migrations.0028_escalation"


def test_escalation_steps_set_at_upgrade_become_the_default_ladders(monkeypatch):
    EscalationPolicy.objects.all().delete()
    monkeypatch.setenv("ESCALATION_STEPS", "0,48h,5d")

    importlib.import_module(MIGRATION).create_policies(apps, None)

    policy = EscalationPolicy.objects.get(notice_type="hotline_notice")
    assert policy.name == "Hotline notice default (from ESCALATION_STEPS=0,48h,5d)"
    assert list(policy.steps.values_list("action", "anchor", "delay")) == [
        ("repeat_notice", "deadline", timedelta(0)),
        ("analyst_alert", "deadline", timedelta(hours=48)),
        ("upstream_notice", "deadline", timedelta(days=5)),
    ]


def test_steps_taken_under_the_old_ladder_are_not_taken_again(make_case, provider, now, default_policies):
    from notices.models import Escalation
    from notices.services.escalation import sweep
    from notices.services.notices import create_notices, mark_notice_sent, queue_notice

    start = now - timedelta(hours=30)  # the migration makes dropped cases due at its own time: now
    case = make_case(provider=provider, when=start)
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=start)
    mark_notice_sent(notice=queue_notice(notice=notice, now=start), at=start)
    Escalation.objects.create(url=case, notice=notice, level=1, reason="old reminder", created_at=start)
    Url.objects.filter(pk=case.pk).update(next_escalation_at=None)  # the old ladder had dropped it

    importlib.import_module(MIGRATION).adopt_old_steps(apps, None)
    sweep(now=timezone.now())

    assert list(notice.step_runs.order_by("pk").values_list("action", "occurrence", "status")) == [
        ("repeat_notice", 1, "done")  # the old reminder; the 24 h repeat is not sent again
    ]
    case.refresh_from_db()
    assert case.next_escalation_at == start + timedelta(hours=48)


def test_escalation_steps_still_set_is_a_warning(monkeypatch):
    from notices.system_checks import check_escalation_steps_retired

    assert check_escalation_steps_retired() == []
    monkeypatch.setenv("ESCALATION_STEPS", "0,72h,7d")

    (warning,) = check_escalation_steps_retired()
    assert (warning.level, warning.id) == (checks.WARNING, "notices.W001")


# --- The alert queue --------------------------------------------------------------------------------------


@pytest.fixture
def alerts(sent_notice, now):
    first = raise_alert(
        kind="overdue", key="overdue:1", summary="Still up 48 h.", now=now, notice=sent_notice
    )
    second = raise_alert(kind="dispute", key="dispute:1", summary="Disputed.", now=now, notice=sent_notice)
    return first, second


def test_alert_queue_shows_the_count_and_the_open_alerts(supervisor, alerts):
    page = supervisor.get("/admin/notices/analystalert/").content.decode()

    assert "Alerts needing a human: 2" in page
    assert "Still up 48 h." in page and "Disputed." in page
    assert "Alerts (2)" in supervisor.get("/admin/").content.decode()  # the header's count, on every page


def test_acknowledge_then_resolve_takes_an_alert_out_of_the_queue(supervisor, alerts):
    first, _second = alerts

    supervisor.post("/admin/notices/analystalert/", {"action": "acknowledge", "_selected_action": [first.pk]})
    first.refresh_from_db()
    assert (first.status, first.acknowledged_by) == ("acknowledged", supervisor.user)
    assert "Alerts needing a human: 2" in supervisor.get("/admin/notices/analystalert/").content.decode()

    supervisor.post("/admin/notices/analystalert/", {"action": "resolve", "_selected_action": [first.pk]})
    first.refresh_from_db()
    assert (first.status, first.resolved_by) == ("resolved", supervisor.user)
    page = supervisor.get("/admin/notices/analystalert/").content.decode()
    assert "Alerts needing a human: 1" in page and "Still up 48 h." not in page
    assert "Still up 48 h." in supervisor.get("/admin/notices/analystalert/?state=resolved").content.decode()


def test_same_cause_opens_one_alert_until_it_is_resolved(sent_notice, now, analyst):
    from notices.services.alerts import resolve_alerts

    first = raise_alert(kind="step_failed", key="step_failed:7", summary="x", now=now, notice=sent_notice)
    assert (
        raise_alert(kind="step_failed", key="step_failed:7", summary="x", now=now, notice=sent_notice) is None
    )
    resolve_alerts([first.pk], user=analyst, now=now)

    assert raise_alert(kind="step_failed", key="step_failed:7", summary="x", now=now, notice=sent_notice)
    assert AnalystAlert.objects.count() == 2


def test_dispute_and_reappearance_put_the_case_in_the_queue(sent_notice, now, settings):
    from notices.checks.engine import Observation, Outcome
    from notices.services.checking import record_observations

    record_response(notice=sent_notice, action="not_our_customer", now=now)
    settings.REMOVAL_CONFIRMATIONS, settings.REMOVAL_MIN_SPACING = 1, 60
    case = Url.objects.get(pk=sent_notice.items.order_by("url_id").first().url_id)

    def observe(outcome, at):
        return Observation(
            key=case.pk,
            outcome=outcome,
            status_code=200,
            final_url=case.canonical,
            error_class="",
            resolved_ip="198.51.100.10",
            redirects=0,
            elapsed_ms=5,
            checked_at=at,
            vantage="direct",
        )

    record_observations([observe(Outcome.GONE, now + timedelta(hours=1))], now=now)
    record_observations([observe(Outcome.LIVE, now + timedelta(days=2))], now=now)

    assert sorted(AnalystAlert.objects.values_list("kind", "notice", "url", "provider")) == [
        ("dispute", sent_notice.pk, None, sent_notice.provider_id),
        ("reappeared", None, case.pk, sent_notice.provider_id),
    ]
    assert Event.objects.filter(url=case, kind="alert.raised").count() == 1


def test_daily_digest_mails_the_queue_once_a_day(alerts, smtp_sink, now, settings):
    settings.ANALYST_ALERT_EMAILS = ["duty@hotline.example"]

    assert send_digest(now=now) == "sent"
    assert send_digest(now=now + timedelta(hours=1)) == "already-sent"

    (mail,) = smtp_sink.wait_for(1)
    assert mail["Subject"] == f"[Demo Hotline] 2 alerts needing a human ({now.date().isoformat()})"
    assert mail["X-Auto-Response-Suppress"] == "All"
    body = mail.get_content()
    assert "  1 × Still up past the deadline" in body and "  1 × Disputed by the provider" in body
    assert "Still up 48 h." in body
    assert "/admin/notices/analystalert/" in body
    assert "files.polder.example" not in body


def test_digest_without_alerts_sends_nothing(db, smtp_sink, now):
    assert send_digest(now=now) == "empty"
    assert smtp_sink.messages() == []


def test_digest_beat_entry_runs_daily_at_the_set_hour(settings):
    from tracker.schedule import beat_schedule

    settings.ANALYST_DIGEST_HOUR = 6
    entry = beat_schedule()["alerts-digest"]

    assert entry["task"] == "notices.send_alert_digest"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({6}, {0})


def test_policy_steps_listed_in_order(default_policies):
    positions = list(
        EscalationStep.objects.filter(policy=default_policies["hotline_notice"]).values_list(
            "position", flat=True
        )
    )
    assert positions == [1, 2, 3, 4, 5, 6]
