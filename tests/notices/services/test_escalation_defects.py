"""The three escalation defects of issue 17, each pinned by a test written before the fix.

1. Steps were unique per URL, not per notice cycle: a case that reappeared never climbed again.
2. The sweep cleared a case's schedule before its step ran: a failing step (every contact of the provider
   failing) dropped the case, and the exception dropped the rest of its batch.
3. A URL whose newest open notice is a draft without a deadline left the ladder silently.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from notices.checks.engine import Observation, Outcome
from notices.models import Event, OutgoingMessage, ProviderContact, Url
from notices.services.checking import record_observations
from notices.services.escalation import sweep
from notices.services.notices import create_notices, mark_notice_sent, queue_notice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_policies")]


def _observe(case, outcome, at):
    return Observation(
        key=case.pk,
        outcome=outcome,
        status_code=200 if outcome is Outcome.LIVE else 404,
        final_url=case.canonical,
        error_class="",
        resolved_ip="198.51.100.10",
        redirects=0,
        elapsed_ms=5,
        checked_at=at,
        vantage="direct",
    )


def _sent_notice(case, at):
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=at)
    notice = queue_notice(notice=notice, now=at)
    mark_notice_sent(notice=notice, at=at)
    notice.refresh_from_db()
    return notice


def _reminders(notice) -> int:
    """Mails of `notice` beyond the notice itself: its repeats."""
    return OutgoingMessage.objects.filter(notice=notice).count() - 1


def test_escalation_reappeared_case_climbs_the_ladder_again(make_case, provider, now, settings):
    settings.REMOVAL_CONFIRMATIONS, settings.REMOVAL_MIN_SPACING = 2, 60
    start = now - timedelta(days=30)
    case = make_case(provider=provider, when=start)
    first = _sent_notice(case, start)
    sweep(now=first.sent_at)  # the ladder is planned when the notice is out
    sweep(now=first.deadline_at)
    assert _reminders(first) == 1

    gone_at = first.deadline_at + timedelta(hours=1)
    record_observations([_observe(case, Outcome.GONE, gone_at)], now=gone_at)
    record_observations([_observe(case, Outcome.GONE, gone_at + timedelta(minutes=5))], now=gone_at)
    back_at = gone_at + timedelta(days=2)
    record_observations([_observe(case, Outcome.LIVE, back_at)], now=back_at)
    case.refresh_from_db()
    assert (case.status, case.reappearance_count) == ("assessed", 1)

    second = _sent_notice(case, back_at + timedelta(hours=1))
    sweep(now=second.sent_at)
    sweep(now=second.deadline_at)

    assert _reminders(second) == 1


def test_escalation_failing_step_keeps_the_case_and_the_rest_of_its_batch(
    make_case, provider, other_provider, now
):
    start = now - timedelta(days=10)
    failing = make_case("http://files.polder.example/a.html", provider=provider, when=start)
    healthy = make_case("http://cdn.balkan.example/b.jpg", provider=other_provider, when=start)
    failing_notice, healthy_notice = _sent_notice(failing, start), _sent_notice(healthy, start)
    sweep(now=start)
    ProviderContact.objects.filter(provider=provider).update(failing=True, failure_reason="550 bounce")

    sweep(now=failing_notice.deadline_at)

    assert (_reminders(failing_notice), _reminders(healthy_notice)) == (0, 1)
    failing.refresh_from_db()
    assert failing.next_escalation_at is not None and failing.next_escalation_at > failing_notice.deadline_at
    assert Event.objects.filter(kind="notice.analyst_alert", notice=failing_notice).count() == 1

    ProviderContact.objects.filter(provider=provider).update(failing=False)
    sweep(now=failing.next_escalation_at)

    assert _reminders(failing_notice) == 1


def test_escalation_draft_newest_notice_does_not_stop_the_ladder(make_case, provider, other_provider, now):
    start = now - timedelta(days=10)
    case = make_case(provider=provider, when=start)
    sent = _sent_notice(case, start)
    sweep(now=start)
    Url.objects.filter(pk=case.pk).update(provider=other_provider)  # the case moved; a draft to the new host
    (draft,) = create_notices(urls=[case], notice_type="hotline_notice", now=start + timedelta(hours=1))
    assert (draft.status, draft.deadline_at) == ("draft", None)

    sweep(now=sent.deadline_at)

    assert _reminders(sent) == 1
    case.refresh_from_db()
    assert case.next_escalation_at is not None
