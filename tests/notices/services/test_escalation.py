"""Escalation: a URL still up after its notice deadline climbs reminder → analyst → beyond the provider."""

from datetime import timedelta

import pytest

from notices.models import Escalation, Event, OutgoingMessage
from notices.services.escalation import sweep
from notices.services.notices import create_notices, queue_notice


@pytest.fixture
def noticed(make_case, provider, now):
    """A case in a queued e-mail notice (deadline now + 24 h), marked sent."""
    from notices.services.notices import mark_notice_sent

    case = make_case("http://files.polder.example/a.html", provider=provider, when=now)
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=now)
    notice = queue_notice(notice=notice, now=now)
    mark_notice_sent(notice=notice, at=now)
    case.refresh_from_db()
    return case, notice


@pytest.mark.django_db
def test_escalation_ladder_reminder_then_analyst_then_beyond(noticed, now):
    case, notice = noticed
    deadline = notice.deadline_at
    assert case.next_escalation_at == deadline

    assert sweep(now=deadline - timedelta(minutes=1)) == 0
    assert sweep(now=deadline) == 1
    reminder = OutgoingMessage.objects.filter(notice=notice).order_by("pk").last()
    assert reminder.subject.startswith("Reminder: [")
    assert OutgoingMessage.objects.filter(notice=notice).count() == 2
    assert sweep(now=deadline + timedelta(hours=71)) == 0
    assert sweep(now=deadline + timedelta(hours=72)) == 1
    assert sweep(now=deadline + timedelta(days=7)) == 1
    assert sweep(now=deadline + timedelta(days=30)) == 0

    assert list(Escalation.objects.filter(url=case).values_list("level", flat=True).order_by("level")) == [
        1,
        2,
        3,
    ]
    assert Event.objects.filter(url=case, kind="url.escalated").count() == 3
    case.refresh_from_db()
    assert case.next_escalation_at is None


@pytest.mark.django_db
def test_escalation_stops_when_removal_is_confirmed(noticed, now, settings):
    from notices.checks.engine import Observation, Outcome
    from notices.services.checking import record_observations

    settings.REMOVAL_CONFIRMATIONS, settings.REMOVAL_MIN_SPACING = 2, 60
    case, notice = noticed

    def gone(minutes):
        return Observation(
            key=case.pk,
            outcome=Outcome.GONE,
            status_code=404,
            final_url=case.canonical,
            error_class="",
            resolved_ip="198.51.100.10",
            redirects=0,
            elapsed_ms=5,
            checked_at=now + timedelta(minutes=minutes),
            vantage="direct",
        )

    assert record_observations([gone(5)], now=now) == 0
    assert record_observations([gone(10)], now=now) == 1
    case.refresh_from_db()
    assert (case.status, case.next_escalation_at) == ("removed", None)
    assert sweep(now=notice.deadline_at + timedelta(days=1)) == 0
    assert Escalation.objects.count() == 0
