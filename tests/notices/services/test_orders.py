"""Removal orders with legal clocks, driven through time (`now=`): the clock starts at receipt (delivery, the
API-only provider's "made available" time, or the acknowledgement), stands still during a pause and resumes,
the TCO hour applies when the order gives no time, and a breach is recorded to the minute and alerts at
once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from notices.errors import NoticeError
from notices.models import AnalystAlert, Event, Url
from notices.selectors.timeline import event_text
from notices.services.alerts import send_alert
from notices.services.notices import create_notices, mark_notice_sent, queue_notice
from notices.services.orders import clock, create_order, pause_order, resume_order, sweep_orders
from notices.services.responses import record_response

pytestmark = pytest.mark.django_db

M = timedelta(minutes=1)
H = timedelta(hours=1)


@pytest.fixture
def start(now):
    return (now - timedelta(days=3)).replace(second=0, microsecond=0)


@pytest.fixture
def case(make_case, provider, start):
    return make_case(provider=provider, when=start)


def order_notice(case, at, **order):
    (notice,) = create_notices(urls=[case], notice_type="removal_order", now=at, deadline_at=at + 24 * H)
    made = create_order(
        notice=notice,
        authority="Bundeskriminalamt",
        reference=order.pop("reference", "RO-2026-17"),
        issued_at=at - H,
        addressee="Polder Hosting B.V.",
        legal_basis=order.pop("legal_basis", "tco"),
        now=at,
        **order,
    )
    return notice, made


def test_tco_order_without_a_time_gets_one_hour_from_delivery_and_a_pause_moves_it(
    case, start, settings, django_capture_on_commit_callbacks
):
    settings.ANALYST_ALERT_EMAILS = ["duty@hotline.example"]
    notice, order = order_notice(case, start)
    assert clock(order, now=start)["state"] == "not received"

    notice = queue_notice(notice=notice, now=start)
    received = start + 2 * M + timedelta(seconds=30)
    mark_notice_sent(notice=notice, at=received)  # the mail server accepted it: receipt
    order.refresh_from_db()
    assert (order.received_at, order.due_at) == (received, received + H)

    pause_order(order=order, reason="clarification", note="Which URL exactly?", now=received + 20 * M)
    order.refresh_from_db()
    assert order.due_at is None
    state = clock(order, now=received + 30 * M)
    assert (state["state"], state["remaining_seconds"], state["paused"]["reason"]) == (
        "paused",
        40 * 60,
        "clarification",
    )
    resume_order(order=order, now=received + 50 * M)
    order.refresh_from_db()
    assert order.due_at == received + H + 30 * M

    assert sweep_orders(now=received + H + 30 * M - timedelta(seconds=1)) == 0
    with django_capture_on_commit_callbacks() as callbacks:
        assert sweep_orders(now=received + H + 31 * M) == 1
    assert len(callbacks) == 1  # the alert mail is queued at once
    assert sweep_orders(now=received + H + 32 * M) == 0  # once
    order.refresh_from_db()
    assert order.breached_at == received + H + 30 * M
    assert f"{order.breached_at:%H:%M}" == f"{received + 90 * M:%H:%M}"
    (alert,) = AnalystAlert.objects.filter(kind="order_breached")
    assert alert.notice_id == notice.pk
    (event,) = Event.objects.filter(notice=notice, kind="notice.analyst_alert")
    assert send_alert(event_id=event.pk, now=received + H + 31 * M) == "sent"
    (sent,) = mail.outbox
    assert sent.to == ["duty@hotline.example"]
    assert "removal order whose legal deadline ran out" in sent.body
    words = [event_text(e) for e in Event.objects.filter(url=case, kind__startswith="order.").order_by("pk")]
    assert words[-1].startswith(
        f"Removal order Bundeskriminalamt RO-2026-17 breached at {received + 90 * M:%Y-%m-%d %H:%M}"
    )
    assert any("paused: Clarification requested" in w for w in words)
    assert any("runs again after 30 min" in w for w in words)
    assert clock(order, now=received + 2 * H)["state"] == "breached"


def test_the_orders_own_time_counts_from_the_acknowledgement(case, start):
    notice, order = order_notice(
        case, start, legal_basis="national", time_allowed=4 * H, clock_starts="acknowledgement"
    )
    notice = queue_notice(notice=notice, now=start)
    mark_notice_sent(notice=notice, at=start + M)
    order.refresh_from_db()
    assert order.received_at is None  # delivered, but the rules count from the acknowledgement

    record_response(notice=notice, action="acknowledge", now=start + 3 * H)
    order.refresh_from_db()
    assert (order.received_at, order.due_at) == (start + 3 * H, start + 7 * H)


def test_api_only_provider_receives_when_the_order_is_made_available(make_case, api_only, start):
    case = make_case(provider=api_only, when=start)
    notice, order = order_notice(case, start)
    queue_notice(notice=notice, now=start + 5 * M)  # made available in the portal and the API now
    order.refresh_from_db()
    assert (order.received_at, order.due_at) == (start + 5 * M, start + 65 * M)


def test_removed_in_time_is_no_breach(case, start):
    notice, order = order_notice(case, start)
    mark_notice_sent(notice=queue_notice(notice=notice, now=start), at=start)
    gone = start + 40 * M
    Url.objects.filter(pk=case.pk).update(
        status="removed", removal_confirmed_at=gone + 10 * M, removed_low=gone - M, removed_high=gone
    )

    assert sweep_orders(now=start + 2 * H) == 0
    order.refresh_from_db()
    assert (order.breached_at, order.removed_at) == (None, start + H)
    assert AnalystAlert.objects.count() == 0


def test_last_seen_live_after_the_deadline_is_a_breach_even_if_removed_since(case, start):
    notice, _order = order_notice(case, start)
    mark_notice_sent(notice=queue_notice(notice=notice, now=start), at=start)
    Url.objects.filter(pk=case.pk).update(
        status="removed",
        removal_confirmed_at=start + 3 * H,
        removed_low=start + H + 5 * M,
        removed_high=start + 2 * H,
    )

    assert sweep_orders(now=start + 4 * H) == 1


def test_bad_orders_are_field_errors(make_case, provider, case, start):
    (hotline,) = create_notices(urls=[case], notice_type="hotline_notice", now=start)
    with pytest.raises(NoticeError) as raised:
        create_order(
            notice=hotline,
            authority="",
            reference="R1",
            issued_at=start + H,
            addressee="x",
            legal_basis="martial",
            time_allowed=timedelta(0),
            clock_starts="whenever",
            now=start,
        )
    assert set(raised.value.errors) == {
        "notice",
        "authority",
        "issued_at",
        "legal_basis",
        "time_allowed",
        "clock_starts",
    }
    other = make_case("http://files.polder.example/other.html", provider=provider, when=start)
    _notice, order = order_notice(other, start)
    with pytest.raises(NoticeError) as raised:
        pause_order(order=order, reason="bored", now=start)
    assert list(raised.value.errors) == ["reason"]
    with pytest.raises(NoticeError):
        resume_order(order=order, now=start)
