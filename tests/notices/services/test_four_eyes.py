"""Four-eyes verification (settings.FOUR_EYES_VERIFICATION, notices/services/casework.py): on, no notice
naming a case whose assessment a second analyst has not verified goes out — not by the admin's Send, a
dispatch sweep or the API; off (the default), nothing waits for it."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from notices.models import Event, Notice
from notices.selectors.queues import active_queues, queue_condition
from notices.services import casework
from notices.services.dispatch import dispatch_due
from notices.services.notices import create_notices
from tests.conftest import staff_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def ben(db):
    return staff_with_role("ben", "Analyst")


@pytest.fixture
def case(make_case, api_only, now):
    """Assessed by `analyst` (make_case), traced to an API-only provider."""
    return make_case("http://files.polder.example/four-eyes.html", provider=api_only, when=now)


@pytest.fixture
def draft(case, analyst, now):
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=now, created_by=analyst)
    return notice


@pytest.fixture
def four_eyes(settings):
    settings.FOUR_EYES_VERIFICATION = True


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _send(user, notice):
    response = _client(user).post(reverse("admin:notices_notice_send", args=[notice.pk]))
    return response, [str(m) for m in get_messages(response.wsgi_request)]


def test_off_by_default_a_draft_is_sent_without_verification(draft, ben, settings):
    assert settings.FOUR_EYES_VERIFICATION is False
    response, messages = _send(ben, draft)
    assert response.status_code == 302 and "Queued 1 notice(s) for delivery." in messages
    draft.refresh_from_db()
    assert draft.status == "sent"  # API-only: made available at once
    assert "verify" not in active_queues()


def test_on_the_admin_send_is_refused_until_a_second_analyst_verifies(four_eyes, draft, case, analyst, ben):
    page = _client(ben).get(reverse("admin:notices_notice_change", args=[draft.pk])).content.decode()
    assert 'id="unverified"' in page and "Send this notice" not in page  # the preview says why, no button
    _response, messages = _send(ben, draft)
    assert any("Four-eyes verification is on" in m and str(case.pk) in m for m in messages), messages
    draft.refresh_from_db()
    assert draft.status == "draft"

    # The assessor may not verify their own assessment; the second analyst may, once.
    with pytest.raises(casework.NoticeError, match="a second analyst must verify"):
        casework.verify(url=case, user=analyst, now=draft.created_at)
    verify = reverse("admin:notices_url_verify", args=[case.pk])
    answer = _client(ben).post(verify, {"revision": "0"})
    assert "Assessment verified" in " ".join(str(m) for m in get_messages(answer.wsgi_request))
    case.refresh_from_db()
    assert case.current_assessment.verified_by == ben and case.revision == 1
    assert Event.objects.filter(url=case, kind="url.verified").count() == 1
    again = _client(ben).post(verify, {"revision": "1"})
    assert "verified already" in " ".join(str(m) for m in get_messages(again.wsgi_request))

    _response, messages = _send(ben, draft)
    assert "Queued 1 notice(s) for delivery." in messages
    draft.refresh_from_db()
    assert draft.status == "sent"


def test_on_the_to_verify_queue_holds_unverified_cases(four_eyes, case, ben, now):
    from notices.models import Url

    assert "verify" in active_queues()
    queue = Url.objects.filter(queue_condition("verify", now=now))
    assert list(queue) == [case]
    listed = _client(ben).get(reverse("admin:notices_url_changelist") + "?queue=verify")
    assert [row.pk for row in listed.context["cl"].result_list] == [case.pk]
    assert "To verify (four eyes)" in listed.content.decode()
    casework.verify(url=case, user=ben, now=now)
    assert not Url.objects.filter(queue_condition("verify", now=now)).exists()


def test_on_the_api_send_is_refused_with_the_message(four_eyes, draft, case, staff_api, ben, now):
    response = staff_api.post(f"/api/v1/notices/{draft.reference}/send/")
    assert response.status_code == 409  # a state conflict, as for a notice not a draft
    assert "Four-eyes verification is on" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft"
    casework.verify(url=case, user=ben, now=now)
    assert staff_api.post(f"/api/v1/notices/{draft.reference}/send/").status_code == 202


def test_on_the_api_create_and_send_is_refused(four_eyes, case, staff_api):
    body = {"urls": [case.pk], "notice_type": "hotline_notice", "send": True}
    response = staff_api.post("/api/v1/notices/", body, format="json")
    assert response.status_code == 409 and "Four-eyes" in response.content.decode()
    assert not Notice.objects.exists()  # all or nothing


@pytest.mark.parametrize("on", [False, True])
def test_dispatch_sweep_waits_for_verification_only_when_on(settings, case, ben, now, on):
    settings.FOUR_EYES_VERIFICATION = on
    provider = case.provider
    provider.dispatch = "immediate"
    provider.save(update_fields=["dispatch"])
    sent = dispatch_due(now=now)
    assert len(sent) == (0 if on else 1)
    assert not Event.objects.filter(kind="dispatch.failed").exists()  # waiting is not a failure
    if on:
        casework.verify(url=case, user=ben, now=now)
        (notice,) = dispatch_due(now=now)
        assert list(notice.items.values_list("url_id", flat=True)) == [case.pk]


def test_batch_queuing_refuses_unverified_cases(four_eyes, case):
    """The sweeps' path refuses too, should a caller hand it an unverified case."""
    from django.utils import timezone

    from notices.services.batch.notices import create_notice_batches

    made = create_notice_batches(
        batches=[[case.pk]], notice_type="hotline_notice", now=timezone.now(), queue_as="dispatch"
    )
    assert made.notices == []
    assert "Four-eyes verification is on" in made.errors[0]["detail"][0]
