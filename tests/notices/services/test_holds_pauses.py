"""Law-enforcement holds and pauses driven through time (`now=`) with the real outbox: nothing is sent for a
held case (drafts, queued mails, escalation steps), a hold ends when cleared or at its timeout, a pause lasts
until the analyst answers, and the ladder resumes shifted by the stopped time; the SLA figures leave the
stopped time out, the raw time to removal keeps it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notices.delivery.outbox import claim_due_messages
from notices.errors import NoticeError
from notices.models import ClockStop, Event, OutgoingMessage, StepRun, Url
from notices.selectors.reports import provider_scorecard
from notices.selectors.timeline import event_text
from notices.services.delivery import send_claimed
from notices.services.escalation import claim_due, sweep, take_steps
from notices.services.holds import clear_hold, request_hold
from notices.services.notices import create_notices, mark_notice_sent, queue_notice
from notices.services.responses import record_response
from notices.services.threads import reply_to_provider

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_policies")]

H = timedelta(hours=1)
S = timedelta(seconds=1)


@pytest.fixture
def start(now):
    return (now - timedelta(days=30)).replace(microsecond=0)


@pytest.fixture
def case(make_case, provider, start):
    return make_case(provider=provider, when=start)


def sent_notice(case, at):
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=at)
    notice = queue_notice(notice=notice, now=at)
    for message in OutgoingMessage.objects.filter(notice=notice):  # the first notice: sent at `at`
        message.status = "sent"
        message.save(update_fields=["status"])
    mark_notice_sent(notice=notice, at=at)
    notice.refresh_from_db()
    return notice


def runs(notice) -> list[tuple]:
    return list(
        StepRun.objects.filter(notice=notice).order_by("pk").values_list("action", "occurrence", "status")
    )


def next_at(case):
    return Url.objects.get(pk=case.pk).next_escalation_at


def timeline(case) -> list[str]:
    return [event_text(e) for e in Event.objects.filter(url=case).order_by("at", "pk")]


def hold(case, at, **extra):
    return request_hold(url=case, reason="covert investigation", requester="BKA, case 4711", now=at, **extra)


# --- Holds --------------------------------------------------------------------------------------------------


def test_hold_stops_the_ladder_and_clearing_resumes_it_shifted_by_the_hold(case, start, smtp_sink):
    notice = sent_notice(case, start)
    assert sweep(now=start) == 0
    assert next_at(case) == start + 24 * H  # the first repeat

    held = hold(case, start + 10 * H)
    assert sweep(now=start + 24 * H) == 0  # due, but held: it waits
    assert runs(notice) == []
    assert next_at(case) is None  # no timeout: until cleared

    clear_hold(hold=held, now=start + 30 * H, user=None, note="investigation done")
    assert next_at(case) == start + 30 * H
    assert sweep(now=start + 30 * H) == 0  # 20 h held: the repeat is due at 24 h + 20 h
    assert next_at(case) == start + 44 * H
    assert sweep(now=start + 44 * H - S) == 0
    assert sweep(now=start + 44 * H) == 1
    assert runs(notice) == [("repeat_notice", 1, "queued")]

    (message,) = OutgoingMessage.objects.filter(run__isnull=False)
    assert claim_due_messages(now=timezone.now(), limit=10) == [message.pk]
    assert send_claimed(message.pk) == "sent"
    assert len(smtp_sink.messages()) == 1
    words = timeline(case)
    assert any(w.startswith("Law-enforcement hold until cleared, requested by BKA, case 4711") for w in words)
    assert any(
        w.startswith("Escalation waits, until it ends: a law-enforcement hold is in force") for w in words
    )
    assert (
        "Law-enforcement hold cleared: investigation done. Waiting mails go out and the ladder resumes."
        in words
    )


def test_hold_with_a_timeout_ends_by_itself(case, start):
    notice = sent_notice(case, start)
    sweep(now=start)
    hold(case, start + 10 * H, expires_at=start + 20 * H)

    assert sweep(now=start + 24 * H) == 0  # the hold ended at 20 h: 10 h later than planned
    assert next_at(case) == start + 34 * H
    assert sweep(now=start + 34 * H) == 1
    assert runs(notice) == [("repeat_notice", 1, "queued")]


def test_hold_placed_while_due_makes_the_case_wait_until_its_timeout(case, start):
    sent_notice(case, start)
    sweep(now=start)
    hold(case, start + 23 * H, expires_at=start + 26 * H)

    assert sweep(now=start + 24 * H) == 0
    assert next_at(case) == start + 26 * H  # looked at again when the hold times out
    assert sweep(now=start + 26 * H) == 0
    assert next_at(case) == start + 27 * H  # 24 h + the 3 h held


def test_hold_between_the_claim_and_the_step_calls_the_step_off(case, start):
    notice = sent_notice(case, start)
    sweep(now=start)
    claimed = claim_due(now=start + 24 * H, limit=10)
    assert claimed == [case.pk]

    hold(case, start + 24 * H)
    assert take_steps(claimed, now=start + 24 * H) == 0
    assert runs(notice) == []
    assert OutgoingMessage.objects.filter(run__isnull=False).count() == 0


def test_queued_mail_of_a_held_case_waits_in_the_outbox_and_goes_after_the_clear(
    case, start, smtp_sink, settings
):
    settings.HOLD_RECHECK = 600
    sent_notice(case, start)
    sweep(now=start)
    assert sweep(now=start + 24 * H) == 1
    (message,) = OutgoingMessage.objects.filter(run__isnull=False)
    held = hold(case, start + 24 * H + S)

    (claimed,) = claim_due_messages(now=timezone.now(), limit=10)
    before = timezone.now()
    assert send_claimed(claimed) == "pending"
    message.refresh_from_db()
    assert smtp_sink.messages() == []
    assert (message.status, message.attempts) == ("pending", 0)  # held, not an attempt
    assert message.next_attempt_at >= before + timedelta(seconds=600)
    assert claim_due_messages(now=timezone.now(), limit=10) == []

    clear_hold(hold=held, now=timezone.now())
    (claimed,) = claim_due_messages(now=timezone.now(), limit=10)
    assert send_claimed(claimed) == "sent"
    assert len(smtp_sink.messages()) == 1


def test_a_held_case_is_put_in_no_notice_and_its_draft_is_not_sent(make_case, provider, start):
    first = make_case("http://files.polder.example/a.html", provider=provider, when=start)
    (draft,) = create_notices(urls=[first], notice_type="hotline_notice", now=start)
    hold(first, start + H)

    with pytest.raises(NoticeError) as raised:
        queue_notice(notice=draft, now=start + 2 * H)
    assert raised.value.errors == {
        "urls": [f"URL {first.pk} is under a law-enforcement hold: nothing is sent for it."]
    }
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert OutgoingMessage.objects.count() == 0

    second = make_case("http://files.polder.example/b.html", provider=provider, when=start)
    hold(second, start + H, expires_at=start + 5 * H)
    with pytest.raises(NoticeError):
        create_notices(urls=[second], notice_type="hotline_notice", now=start + 2 * H)
    (notice,) = create_notices(urls=[second], notice_type="hotline_notice", now=start + 5 * H)  # timed out
    assert notice.status == "draft"


def test_a_second_hold_and_bad_input_are_field_errors(case, start):
    hold(case, start)
    with pytest.raises(NoticeError) as raised:
        hold(case, start + H)
    assert list(raised.value.errors) == ["url"]
    with pytest.raises(NoticeError) as raised:
        request_hold(url=case, reason=" ", requester="", now=start, expires_at=start - H)
    assert set(raised.value.errors) == {"reason", "requester", "expires_at"}


# --- Pauses -------------------------------------------------------------------------------------------------


def test_need_info_pauses_until_the_analyst_answers_and_the_ladder_shifts(case, start, analyst):
    notice = sent_notice(case, start)
    sweep(now=start)
    record_response(notice=notice, action="need_info", message="Which file exactly?", now=start + 5 * H)
    (pause,) = ClockStop.objects.filter(url=case)
    assert (pause.kind, pause.notice_id, pause.ended_at) == ("need_info", notice.pk, None)

    assert sweep(now=start + 24 * H) == 0  # still waiting for the analyst
    assert next_at(case) is None
    reply_to_provider(
        notice=notice, author=analyst, body="The one named in the notice.", now=start + 15 * H + H
    )
    pause.refresh_from_db()
    assert pause.ended_at == start + 16 * H
    assert next_at(case) == start + 16 * H

    assert sweep(now=start + 16 * H) == 0
    assert next_at(case) == start + 35 * H  # 24 h + 11 h paused
    assert sweep(now=start + 35 * H) == 1
    assert runs(notice) == [("repeat_notice", 1, "queued")]
    words = timeline(case)
    assert any(w.startswith("Clock paused: the provider needs more information.") for w in words)
    assert any(w.startswith("Clock runs again: the analyst answered") for w in words)


def test_dispute_pauses_and_a_reply_before_the_step_shifts_it(case, start, analyst):
    notice = sent_notice(case, start)
    sweep(now=start)
    record_response(notice=notice, action="not_our_customer", now=start + 2 * H)
    reply_to_provider(notice=notice, author=analyst, body="Our trace says it is.", now=start + 6 * H)

    assert sweep(now=start + 24 * H) == 0
    assert next_at(case) == start + 28 * H
    assert list(ClockStop.objects.values_list("kind", flat=True)) == ["dispute"]


# --- SLA figures --------------------------------------------------------------------------------------------


def removed(case, at):
    sent = Url.objects.get(pk=case.pk).first_notice_sent_at
    low = int((at - sent).total_seconds())
    Url.objects.filter(pk=case.pk).update(
        status="removed",
        removal_confirmed_at=at,
        removed_low=at,
        removed_high=at,
        ttr_low=low,
        ttr_high=low,
    )


def test_sla_figures_leave_holds_and_pauses_out_and_the_raw_ttr_keeps_them(
    make_case, provider, start, analyst
):
    held = make_case("http://files.polder.example/held.html", provider=provider, when=start)
    paused = make_case("http://files.polder.example/paused.html", provider=provider, when=start)
    plain = make_case("http://files.polder.example/plain.html", provider=provider, when=start)
    notices = [sent_notice(case, start) for case in (held, paused, plain)]
    hold(held, start + H, expires_at=start + 7 * H)  # 6 h
    record_response(notice=notices[1], action="need_info", now=start + 2 * H)
    reply_to_provider(notice=notices[1], author=analyst, body="See the notice.", now=start + 4 * H)  # 2 h
    for case in (held, paused, plain):
        removed(case, start + 10 * H)

    card = provider_scorecard(provider=provider, now=start + 20 * H)

    assert card["median"] == {"low": 36000, "high": 36000}  # raw: every case 10 h
    assert card["sla"] == {
        "count": 3,
        "cases_with_stopped_clock": 2,
        "stopped_seconds": 8 * 3600,
        "median": {"low": 8 * 3600, "high": 8 * 3600},  # 4 h, 8 h, 10 h
        "p90": {"low": 10 * 3600, "high": 10 * 3600},
    }


def test_a_stop_outside_the_notice_cycle_is_not_left_out(make_case, provider, start):
    case = make_case(provider=provider, when=start)
    hold(case, start - 5 * H, expires_at=start - H)  # before the notice
    sent_notice(case, start)
    removed(case, start + 10 * H)

    assert provider_scorecard(provider=provider, now=start + 20 * H)["sla"]["stopped_seconds"] == 0
