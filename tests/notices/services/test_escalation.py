"""The escalation engine driven through time (`now=`): policies chosen by notice type and provider, each step
at its time and once, what each step delivers, failures retried with backoff, removals cancelling steps."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notices.checks.engine import Observation, Outcome
from notices.models import (
    AnalystAlert,
    EscalationPolicy,
    EscalationStep,
    Event,
    OutgoingMessage,
    ProviderContact,
    Referral,
    StepRun,
    Url,
    WebhookDelivery,
    WebhookEndpoint,
)
from notices.services.checking import record_observations
from notices.services.delivery import send_claimed
from notices.services.escalation import claim_due, sweep, take_steps
from notices.services.notices import create_notices, mark_notice_sent, queue_notice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_policies")]

H = timedelta(hours=1)
S = timedelta(seconds=1)


@pytest.fixture
def start(now):
    return (now - timedelta(days=30)).replace(microsecond=0)


def sent_notice(case, at, notice_type="hotline_notice"):
    (notice,) = create_notices(urls=[case], notice_type=notice_type, now=at)
    notice = queue_notice(notice=notice, now=at)
    mark_notice_sent(notice=notice, at=at)
    notice.refresh_from_db()
    return notice


def runs(notice) -> list[tuple]:
    return list(
        StepRun.objects.filter(notice=notice).order_by("pk").values_list("action", "occurrence", "status")
    )


def repeats(notice) -> list[OutgoingMessage]:
    return list(OutgoingMessage.objects.filter(notice=notice, run__isnull=False).order_by("pk"))


def texts(case, kind="url.escalated") -> list[str]:
    return [e.data["text"] for e in Event.objects.filter(url=case, kind=kind).order_by("pk")]


def gone(case, at):
    return Observation(
        key=case.pk,
        outcome=Outcome.GONE,
        status_code=404,
        final_url=case.canonical,
        error_class="",
        resolved_ip="198.51.100.10",
        redirects=0,
        elapsed_ms=5,
        checked_at=at,
        vantage="direct",
    )


def confirm_removal(case, at, settings):
    settings.REMOVAL_CONFIRMATIONS, settings.REMOVAL_MIN_SPACING = 2, 60
    record_observations([gone(case, at)], now=at)
    record_observations([gone(case, at + 2 * timedelta(minutes=1))], now=at)
    case.refresh_from_db()
    assert case.status == "removed"


@pytest.fixture
def case(make_case, provider, start):
    return make_case(provider=provider, when=start)


# --- The default hotline ladder, step by step ------------------------------------------------------------


def test_default_ladder_takes_each_step_at_its_time_and_once(case, start):
    notice = sent_notice(case, start)
    case.refresh_from_db()
    assert case.next_escalation_at == start  # planned by the first sweep after the notice went out

    assert sweep(now=start) == 0
    case.refresh_from_db()
    assert case.next_escalation_at == start + 24 * H
    assert sweep(now=start + 24 * H - S) == 0
    assert sweep(now=start + 24 * H) == 1
    assert sweep(now=start + 24 * H) == 0
    assert sweep(now=start + 48 * H) == 2
    assert sweep(now=start + 72 * H) == 3
    for day in range(4, 7):
        assert sweep(now=start + day * 24 * H) == 1
    assert sweep(now=start + 7 * 24 * H) == 3

    assert runs(notice) == [
        ("repeat_notice", 1, "queued"),
        ("repeat_notice", 2, "queued"),
        ("analyst_alert", 1, "done"),
        ("repeat_notice", 3, "queued"),
        ("upstream_notice", 1, "skipped"),
        ("partner_handoff", 1, "skipped"),
        ("repeat_notice", 4, "queued"),
        ("repeat_notice", 5, "queued"),
        ("repeat_notice", 6, "queued"),
        ("repeat_notice", 7, "queued"),
        ("refer_law_enforcement", 1, "done"),
        ("refer_dsc", 1, "done"),
    ]
    assert [m.subject.split(" [")[0] for m in repeats(notice)] == [f"Reminder {n}:" for n in range(1, 8)]
    assert [m.recipients for m in repeats(notice)] == [["abuse@polder.example"]] * 7
    assert list(Referral.objects.values_list("authority", "country")) == [
        ("law_enforcement", "DE"),
        ("dsc", "NL"),
    ]
    alert = AnalystAlert.objects.get(kind="overdue")
    assert (alert.notice, alert.status) == (notice, "open")
    assert "still up 48 h after the notice" in alert.summary
    assert Event.objects.filter(kind="notice.analyst_alert", notice=notice).count() == 1
    case.refresh_from_db()
    assert case.next_escalation_at == start + 8 * 24 * H


def test_each_step_is_on_the_case_timeline_in_words(case, start):
    notice = sent_notice(case, start)
    for hours in (0, 24, 48, 72):
        sweep(now=start + hours * H)

    ref, queued = notice.reference, "queued in the outbox for abuse@polder.example (1 URL still up)."
    assert texts(case) == [
        f"Repeat notice 1 of {ref} {queued}",
        f"Repeat notice 2 of {ref} {queued}",
        f"Analysts alerted: 1 URL of notice {ref} to Polder Hosting still up 48 h after the notice.",
        f"Repeat notice 3 of {ref} {queued}",
    ]
    assert texts(case, "url.escalation_skipped") == [
        f"Notice to the upstream network of {ref} not applicable: the trace found no network above "
        "Polder Hosting.",
        f"Hand-off to the partner hotline of {notice.reference} not applicable: no partner hotline takes "
        "hand-offs for NL.",
    ]


def test_missed_sweeps_take_the_latest_occurrence_once(case, start):
    notice = sent_notice(case, start)

    assert sweep(now=start + 80 * H) == 4

    assert runs(notice) == [
        ("repeat_notice", 3, "queued"),
        ("analyst_alert", 1, "done"),
        ("upstream_notice", 1, "skipped"),
        ("partner_handoff", 1, "skipped"),
    ]
    case.refresh_from_db()
    assert case.next_escalation_at == start + 96 * H


def test_removal_stops_the_ladder(case, start, settings):
    notice = sent_notice(case, start)
    sweep(now=start + 24 * H)
    confirm_removal(case, start + 30 * H, settings)

    assert case.next_escalation_at is None
    assert sweep(now=start + 10 * 24 * H) == 0
    assert [run[:2] for run in runs(notice)] == [("repeat_notice", 1)]


# --- Policies: by notice type, per provider, anchors ------------------------------------------------------


def _policy(name, notice_type="hotline_notice", provider=None, steps=()):
    policy = EscalationPolicy.objects.create(name=name, notice_type=notice_type, provider=provider)
    for position, (action, anchor, delay, every, times) in enumerate(steps, 1):
        EscalationStep.objects.create(
            policy=policy,
            position=position,
            action=action,
            anchor=anchor,
            delay=delay,
            repeat_every=every,
            repeat_times=times,
        )
    return policy


def test_provider_policy_overrides_the_default_for_its_notice_type(
    make_case, provider, other_provider, start
):
    _policy(
        "Polder: every 6 h, 3 times", provider=provider, steps=[("repeat_notice", "notice", 6 * H, 6 * H, 3)]
    )
    polder = sent_notice(
        make_case("http://files.polder.example/p.html", provider=provider, when=start), start
    )
    balkan = sent_notice(
        make_case("http://cdn.balkan.example/b.jpg", provider=other_provider, when=start), start
    )

    for hours in range(0, 30, 6):
        sweep(now=start + hours * H)

    assert runs(polder) == [("repeat_notice", n, "queued") for n in (1, 2, 3)]
    assert runs(balkan) == [("repeat_notice", 1, "queued")]
    assert Url.objects.get(pk=polder.items.get().url_id).next_escalation_at is None
    (stopped,) = Event.objects.filter(kind="url.escalation_stopped")
    assert (
        stopped.data["text"] == "Escalation ends: the ladder “Polder: every 6 h, 3 times” has no step left."
    )


def test_policy_is_chosen_by_notice_type(case, start, default_policies):
    default_policies["trusted_flagger"].delete()
    _policy(
        "Trusted flagger: alert at 12 h",
        "trusted_flagger",
        steps=[("analyst_alert", "notice", 12 * H, None, None)],
    )
    notice = sent_notice(case, start, notice_type="trusted_flagger")

    sweep(now=start)
    sweep(now=start + 12 * H)

    assert runs(notice) == [("analyst_alert", 1, "done")]


def test_no_policy_for_the_type_ends_the_ladder_in_words(case, start, default_policies):
    default_policies["hotline_notice"].delete()
    sent_notice(case, start)

    assert sweep(now=start) == 0

    case.refresh_from_db()
    assert case.next_escalation_at is None
    assert texts(case, "url.escalation_stopped") == [
        "Escalation ends: no active escalation policy for hotline notices."
    ]


def test_reminder_before_the_deadline_names_it_in_the_provider_time_zone(case, provider, start):
    provider.time_zone, provider.language = "Europe/Amsterdam", "nl"
    provider.save()
    _policy(
        "Polder: 2 h before", provider=provider, steps=[("repeat_notice", "deadline", -2 * H, None, None)]
    )
    notice = sent_notice(case, start)
    sweep(now=start)

    assert sweep(now=notice.deadline_at - 2 * H - S) == 0
    assert sweep(now=notice.deadline_at - 2 * H) == 1

    (mail,) = repeats(notice)
    local = notice.deadline_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Amsterdam"))
    assert mail.subject.startswith("Herinnering: [")
    assert mail.text.startswith(f"Herinnering: de termijn van onze melding {notice.reference} van ")
    assert f"verloopt op {local:%Y-%m-%d %H:%M} (Europe/Amsterdam)" in mail.text


def test_step_anchored_on_the_previous_counts_from_when_it_was_taken(case, provider, start):
    _policy(
        "Polder: alert 1 h after the first repeat",
        provider=provider,
        steps=[("repeat_notice", "notice", 24 * H, None, None), ("analyst_alert", "previous", H, None, None)],
    )
    notice = sent_notice(case, start)
    sweep(now=start)
    sweep(now=start + 30 * H)  # the repeat is taken late, at 30 h

    assert sweep(now=start + 31 * H - S) == 0
    assert sweep(now=start + 31 * H) == 1
    assert runs(notice) == [("repeat_notice", 1, "queued"), ("analyst_alert", 1, "done")]


# --- The three defects' neighbours: claims, retries, cancellations ---------------------------------------


def test_claim_is_a_lease_not_a_cleared_schedule(case, start, settings):
    sent_notice(case, start)

    assert claim_due(now=start, limit=10) == [case.pk]  # the sweep died here

    case.refresh_from_db()
    assert case.next_escalation_at == start + timedelta(seconds=settings.ESCALATION_CLAIM_TIMEOUT)
    assert claim_due(now=start + 60 * S, limit=10) == []
    assert claim_due(now=case.next_escalation_at, limit=10) == [case.pk]


def test_failing_step_retries_with_backoff_and_alerts_once(case, provider, start, settings):
    settings.ESCALATION_RETRY_BASE, settings.ESCALATION_RETRY_MAX = 300, 900
    notice = sent_notice(case, start)
    ProviderContact.objects.filter(provider=provider).update(failing=True)
    day = start + 24 * H

    assert sweep(now=day) == 1
    run = StepRun.objects.get(notice=notice)
    assert (run.status, run.attempts, run.next_attempt_at) == ("retrying", 1, day + 300 * S)
    assert sweep(now=day + 299 * S) == 0
    assert sweep(now=day + 300 * S) == 1
    assert sweep(now=day + 900 * S) == 1  # 600 s after the second failure
    assert sweep(now=day + 1800 * S) == 1  # capped at 900 s
    run.refresh_from_db()
    assert (run.status, run.attempts, run.next_attempt_at) == ("retrying", 4, day + 2700 * S)
    assert AnalystAlert.objects.filter(kind="step_failed").count() == 1
    assert texts(case, "url.escalation_failed")[0] == (
        f"Repeat notice 1 of {notice.reference} failed: Polder Hosting has no working abuse contact. "
        f"Retry {day + 300 * S:%Y-%m-%d %H:%M:%S} UTC (attempt 1)."
    )

    ProviderContact.objects.filter(provider=provider).update(failing=False)
    assert sweep(now=day + 2700 * S) == 1

    run.refresh_from_db()
    assert (run.status, run.attempts, run.occurrence) == ("queued", 5, 1)
    assert len(repeats(notice)) == 1


def test_removal_between_claim_and_action_cancels_the_action(case, start, settings):
    notice = sent_notice(case, start)
    sweep(now=start)
    claimed = claim_due(now=start + 24 * H, limit=10)
    assert claimed == [case.pk]

    confirm_removal(case, start + 24 * H, settings)
    assert take_steps(claimed, now=start + 24 * H) == 0

    assert runs(notice) == []
    assert repeats(notice) == []


def test_removal_after_the_step_calls_its_mail_off(case, start, settings, smtp_sink):
    notice = sent_notice(case, start)
    sweep(now=start + 24 * H)
    (message,) = repeats(notice)
    confirm_removal(case, start + 25 * H, settings)

    from notices.delivery.outbox import claim_due_messages

    assert claim_due_messages(now=start + 26 * H, limit=10, message_ids=[message.pk]) == [message.pk]
    assert send_claimed(message.pk) == "cancelled"

    message.refresh_from_db()
    assert message.status == "cancelled"
    assert runs(notice) == [("repeat_notice", 1, "cancelled")]
    assert smtp_sink.messages() == []
    assert texts(case, "url.escalation_cancelled") == [
        f"Repeat notice 1 of {notice.reference} called off before sending: the content is gone."
    ]


def test_delivered_repeat_is_done_with_its_smtp_time(case, start, smtp_sink):
    notice = sent_notice(case, start)
    sweep(now=start + 24 * H)
    (message,) = repeats(notice)

    from notices.delivery.outbox import claim_due_messages

    claim_due_messages(now=start + 24 * H, limit=10, message_ids=[message.pk])
    assert send_claimed(message.pk) == "sent"

    run = StepRun.objects.get(notice=notice)
    message.refresh_from_db()
    assert (run.status, run.delivered_at) == ("done", message.sent_at)
    (mail,) = smtp_sink.wait_for(1)
    assert mail["Subject"].startswith(f"Reminder 1: [{notice.reference}]")
    assert mail["X-Notice-Reference"] == notice.reference
    names = [part.get_filename() for part in mail.iter_attachments()]
    assert names == [f"xarf-{notice.reference}-1.json", f"urls-{notice.reference}.csv"]
    assert texts(case, "url.escalation_delivered") == [
        f"Repeat notice 1 of {notice.reference} accepted by the mail server for abuse@polder.example."
    ]


def test_repeat_given_up_by_the_outbox_is_taken_again(make_case, provider, now, smtp_sink, settings):
    settings.ESCALATION_RETRY_BASE = 300
    start = now - 24 * H  # the outbox reports in real time: the ladder's day 1 is now
    case = make_case(provider=provider, when=start)
    notice = sent_notice(case, start)
    day = start + 24 * H
    sweep(now=day)
    (message,) = repeats(notice)
    smtp_sink.mode = "permfail"

    from notices.delivery.outbox import claim_due_messages

    claim_due_messages(now=day, limit=10, message_ids=[message.pk])
    assert send_claimed(message.pk) == "failed"

    run = StepRun.objects.get(notice=notice)
    case.refresh_from_db()
    assert (run.status, run.attempts) == ("retrying", 2)
    assert run.next_attempt_at > now + 299 * S
    assert case.next_escalation_at == run.next_attempt_at
    assert AnalystAlert.objects.filter(kind="step_failed", notice=notice).count() == 1
    notice.refresh_from_db()
    assert notice.status == "sent"  # the notice itself reached the provider; only the repeat failed

    ProviderContact.objects.filter(provider=notice.provider).update(failing=False)
    assert sweep(now=run.next_attempt_at) == 1
    assert len(repeats(notice)) == 2


# --- API-only providers: made available, never "sent" by mail --------------------------------------------


def test_api_only_provider_gets_the_repeat_made_available(make_case, api_only, start, provider_api):
    case = make_case(provider=api_only, when=start)
    notice = sent_notice(case, start)
    WebhookEndpoint.objects.create(
        provider=api_only, url="https://hooks.polder.example/n", secret="s" * 32, created_at=start
    )

    assert sweep(now=start + 24 * H) == 1

    run = StepRun.objects.get(notice=notice)
    assert (run.status, run.performed_at, run.delivered_at) == ("done", start + 24 * H, start + 24 * H)
    assert OutgoingMessage.objects.filter(notice=notice).count() == 0
    delivery = WebhookDelivery.objects.get(run=run)
    assert (delivery.notice, delivery.status) == (notice, "pending")
    body = provider_api.get(f"/api/v1/provider/notices/{notice.reference}/").json()
    assert body["reminders"] == [
        {
            "occurrence": 1,
            "made_available_at": (start + 24 * H).isoformat().replace("+00:00", "Z"),
            "delivered_at": (start + 24 * H).isoformat().replace("+00:00", "Z"),
            "urls": [case.pk],
        }
    ]
    assert texts(case) == [
        f"Repeat notice 1 of {notice.reference} made available in the portal and the provider API and "
        "offered to the provider's webhook."
    ]


# --- Ended cases: a closed case or a withdrawn notice is never escalated ---------------------------------


def test_closed_case_is_never_escalated(case, start):
    notice = sent_notice(case, start)
    Url.objects.filter(pk=case.pk).update(status="closed")  # the lifecycle's own service closes cases

    assert sweep(now=start + 24 * H) == 0

    assert runs(notice) == []
    case.refresh_from_db()
    assert case.next_escalation_at is None


def test_withdrawn_notice_is_never_escalated_and_its_queued_repeat_is_called_off(case, start, smtp_sink):
    from notices.delivery.outbox import claim_due_messages
    from notices.models import Notice

    notice = sent_notice(case, start)
    sweep(now=start + 24 * H)
    (message,) = repeats(notice)
    Notice.objects.filter(pk=notice.pk).update(status="withdrawn")  # as the lifecycle's service will

    claim_due_messages(now=start + 24 * H, limit=10, message_ids=[message.pk])
    assert send_claimed(message.pk) == "cancelled"
    assert sweep(now=start + 48 * H) == 0

    assert runs(notice) == [("repeat_notice", 1, "cancelled")]
    assert smtp_sink.messages() == []
    assert texts(case, "url.escalation_stopped") == [
        "Escalation ends: the case is in no open notice that went out."
    ]
