"""The admin side of holds, pauses and removal orders: a hold placed from the cases' page with its reason,
cleared from the holds' page, each in words on the case's timeline; a removal order recorded on its notice
with field errors for bad input, its clock shown, paused and resumed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.utils import timezone

from notices.models import ClockStop, RemovalOrder
from notices.services.notices import create_notices, mark_notice_sent, queue_notice

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, analyst):
    client.force_login(analyst)
    return client


@pytest.fixture
def case(make_case, provider, now):
    return make_case(provider=provider, when=now - timedelta(hours=2))


def test_hold_from_the_cases_page_then_cleared_each_in_words_on_the_timeline(staff, case):
    page = staff.post(
        "/admin/notices/url/",
        {"action": "place_hold", ACTION_CHECKBOX_NAME: [str(case.pk)], "index": "0"},
    )
    assert page.status_code == 200 and b"Hold these cases" in page.content
    missing = staff.post(
        "/admin/notices/url/",
        {"action": "place_hold", ACTION_CHECKBOX_NAME: [str(case.pk)], "apply": "yes", "reason": ""},
    )
    assert missing.status_code == 200 and b"This field is required" in missing.content
    assert ClockStop.objects.count() == 0

    done = staff.post(
        "/admin/notices/url/",
        {
            "action": "place_hold",
            ACTION_CHECKBOX_NAME: [str(case.pk)],
            "apply": "yes",
            "reason": "Covert investigation",
            "requester": "LKA Berlin, 2026/123",
            "expires_at": "",
        },
    )
    assert done.status_code == 302
    (hold,) = ClockStop.objects.all()
    assert (hold.kind, hold.requester, hold.requested_by.username) == (
        "hold",
        "LKA Berlin, 2026/123",
        "analyst",
    )

    cleared = staff.post(
        "/admin/notices/clockstop/",
        {"action": "clear_holds", ACTION_CHECKBOX_NAME: [str(hold.pk)], "index": "0"},
        follow=True,
    )
    assert b"Cleared 1 hold(s)" in cleared.content
    timeline = staff.get(f"/admin/notices/url/{case.pk}/change/").content.decode()
    assert (
        "Law-enforcement hold until cleared, requested by LKA Berlin, 2026/123: Covert investigation."
        in timeline
    )
    assert "Law-enforcement hold cleared: cleared in the admin." in timeline


def test_removal_order_recorded_shown_paused_and_resumed(staff, case, now):
    (notice,) = create_notices(
        urls=[case], notice_type="removal_order", now=now, deadline_at=now + timedelta(days=1)
    )
    issued = now - timedelta(hours=1)  # date and time from one instant: right after midnight too
    form = {
        "notice": str(notice.pk),
        "authority": "Bundeskriminalamt",
        "reference": "RO-17",
        "issued_at_0": f"{issued:%Y-%m-%d}",
        "issued_at_1": f"{issued:%H:%M:%S}",
        "addressee": "Polder Hosting B.V.",
        "legal_basis": "tco",
        "legal_basis_detail": "",
        "time_allowed": "soon",
        "clock_starts": "delivery",
    }
    bad = staff.post("/admin/notices/removalorder/add/", form)
    assert bad.status_code == 200
    assert "Write a number and a unit" in bad.content.decode()
    form["time_allowed"] = ""
    saved = staff.post("/admin/notices/removalorder/add/", form)
    assert saved.status_code == 302
    order = RemovalOrder.objects.get()
    assert (order.reference, order.time_allowed, order.received_at) == ("RO-17", None, None)
    again = staff.post("/admin/notices/removalorder/add/", form)
    assert "already carries an order" in again.content.decode()

    received = timezone.now().replace(microsecond=0)
    mark_notice_sent(notice=queue_notice(notice=notice, now=received), at=received)
    page = staff.get(f"/admin/notices/removalorder/{order.pk}/change/").content.decode()
    assert "running, " in page and f"(due {received + timedelta(hours=1):%Y-%m-%d %H:%M} UTC)" in page

    staff.post(
        "/admin/notices/removalorder/",
        {"action": "pause_for_force_majeure", ACTION_CHECKBOX_NAME: [str(order.pk)], "index": "0"},
    )
    order.refresh_from_db()
    assert order.due_at is None
    assert "paused (force majeure)" in staff.get("/admin/notices/removalorder/").content.decode()
    staff.post(
        "/admin/notices/removalorder/",
        {"action": "resume_clock", ACTION_CHECKBOX_NAME: [str(order.pk)], "index": "0"},
    )
    order.refresh_from_db()
    assert order.due_at > received + timedelta(hours=1)
    timeline = staff.get(f"/admin/notices/url/{case.pk}/change/").content.decode()
    assert (
        "Removal order Bundeskriminalamt RO-17 (TCO Regulation (EU) 2021/784, Art. 3) recorded." in timeline
    )
    assert "paused: Force majeure or de facto impossibility." in timeline
