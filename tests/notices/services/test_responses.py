"""record_response: acknowledge, removed, disputes, need_info; URLs outside the notice; notices not yet
sent."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notices.models import Event, NoticeItem, ProviderResponse, Url
from notices.services.keys import create_api_key
from notices.services.notices import NoticeError, create_notices
from notices.services.responses import record_response


def item_states(notice) -> list[tuple]:
    return list(
        NoticeItem.objects.filter(notice=notice)
        .order_by("url_id")
        .values_list("url_id", "status", "is_open", "reported_removed_at")
    )


def url_ids(notice) -> list[int]:
    return sorted(notice.items.values_list("url_id", flat=True))


def test_record_response_acknowledge_stamps_notice_and_urls(sent_notice, now):
    later = now + timedelta(hours=2)

    response = record_response(
        notice=sent_notice, action="acknowledge", now=later, message="Looking into it."
    )

    sent_notice.refresh_from_db()
    assert (sent_notice.status, sent_notice.acknowledged_at) == ("acknowledged", later)
    assert sorted(Url.objects.values_list("pk", "acknowledged_at")) == [
        (pk, later) for pk in url_ids(sent_notice)
    ]
    assert (response.action, response.message, response.statement_of_reasons, response.created_at) == (
        "acknowledge",
        "Looking into it.",
        {},
        later,
    )
    assert (response.user, response.api_key) == (None, None)
    assert sorted(response.urls.values_list("pk", flat=True)) == url_ids(sent_notice)
    assert [(i[1], i[2]) for i in item_states(sent_notice)] == [("open", True), ("open", True)]
    event = Event.objects.get(kind="notice.response")
    assert (event.notice_id, event.at, event.actor) == (sent_notice.pk, later, "system")
    assert event.data == {
        "action": "acknowledge",
        "urls": url_ids(sent_notice),
        "message": "Looking into it.",
    }


def test_record_response_by_portal_user_names_the_user(sent_notice, django_user_model, now):
    desk = django_user_model.objects.create_user("pickup-desk", password="desk-pass-123")

    response = record_response(notice=sent_notice, action="acknowledge", now=now, user=desk)

    assert response.user == desk
    assert Event.objects.get(kind="notice.response").actor == "user:pickup-desk"


def test_record_response_by_api_key_names_the_key(sent_notice, api_provider, now):
    key, _ = create_api_key(scope="provider", provider=api_provider)

    response = record_response(notice=sent_notice, action="acknowledge", now=now, api_key=key)

    assert response.api_key == key
    assert Event.objects.get(kind="notice.response").actor == f"key:{key.prefix}"


def test_record_response_later_answer_keeps_the_first_acknowledgement(sent_notice, now):
    record_response(notice=sent_notice, action="acknowledge", now=now + timedelta(hours=1))
    record_response(notice=sent_notice, action="acknowledge", now=now + timedelta(hours=5))

    sent_notice.refresh_from_db()
    assert sent_notice.acknowledged_at == now + timedelta(hours=1)
    assert set(Url.objects.values_list("acknowledged_at", flat=True)) == {now + timedelta(hours=1)}
    assert ProviderResponse.objects.count() == 2


def test_record_response_first_answer_for_one_url_acknowledges_the_whole_notice(sent_notice, now):
    first, second = url_ids(sent_notice)
    later = now + timedelta(hours=1)

    record_response(notice=sent_notice, action="need_info", now=later, url_ids=[first], message="Which file?")

    sent_notice.refresh_from_db()
    assert (sent_notice.status, sent_notice.acknowledged_at) == ("acknowledged", later)
    assert dict(Url.objects.values_list("pk", "acknowledged_at")) == {first: later, second: later}


def test_record_response_removed_marks_items_and_makes_urls_due(sent_notice, now):
    first, second = url_ids(sent_notice)
    later = now + timedelta(hours=3)

    record_response(notice=sent_notice, action="removed", now=later, url_ids=[first])

    assert item_states(sent_notice) == [
        (first, "reported_removed", True, later),
        (second, "open", True, None),
    ]
    # The provider's word is not removal: the checker verifies at once, and the URL stays notified.
    assert dict(Url.objects.values_list("pk", "next_check_at")) == {first: later, second: now}
    assert set(Url.objects.values_list("status", flat=True)) == {"notified"}
    sent_notice.refresh_from_db()
    assert sent_notice.status == "acknowledged"


def test_record_response_removed_for_all_urls_when_none_named(sent_notice, now):
    later = now + timedelta(hours=3)

    response = record_response(notice=sent_notice, action="removed", now=later)

    first, second = url_ids(sent_notice)
    assert item_states(sent_notice) == [
        (first, "reported_removed", True, later),
        (second, "reported_removed", True, later),
    ]
    assert sorted(response.urls.values_list("pk", flat=True)) == [first, second]


def test_record_response_removed_leaves_confirmed_removals_alone(sent_notice, now):
    first, second = url_ids(sent_notice)
    confirmed = now + timedelta(hours=1)
    Url.objects.filter(pk=first).update(
        status="removed", removal_confirmed_at=confirmed, next_check_at=confirmed + timedelta(days=1)
    )
    NoticeItem.objects.filter(url_id=first).update(status="removed", is_open=False, removed_at=confirmed)

    record_response(notice=sent_notice, action="removed", now=now + timedelta(hours=2))

    assert item_states(sent_notice) == [
        (first, "removed", False, None),
        (second, "reported_removed", True, now + timedelta(hours=2)),
    ]
    assert dict(Url.objects.values_list("pk", "next_check_at")) == {
        first: confirmed + timedelta(days=1),
        second: now + timedelta(hours=2),
    }


@pytest.mark.parametrize("action", ["not_our_customer", "refused"])
def test_record_response_dispute_marks_items_and_notice_disputed(sent_notice, action, now):
    first, second = url_ids(sent_notice)
    reasons = {"decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT", "explanation": "Not hosted by us."}

    response = record_response(
        notice=sent_notice,
        action=action,
        now=now + timedelta(hours=1),
        url_ids=[second],
        message="Not ours.",
        statement_of_reasons=reasons,
    )

    sent_notice.refresh_from_db()
    assert (sent_notice.status, sent_notice.acknowledged_at) == ("disputed", now + timedelta(hours=1))
    assert item_states(sent_notice) == [(first, "open", True, None), (second, "disputed", True, None)]
    assert (response.action, response.statement_of_reasons) == (action, reasons)
    assert Event.objects.get(kind="notice.response").data == {
        "action": action,
        "urls": [second],
        "message": "Not ours.",
    }


def test_record_response_acknowledge_after_dispute_keeps_it_disputed(sent_notice, now):
    record_response(notice=sent_notice, action="refused", now=now)

    record_response(notice=sent_notice, action="acknowledge", now=now + timedelta(hours=1))

    sent_notice.refresh_from_db()
    assert sent_notice.status == "disputed"


def test_record_response_need_info_only_records_the_message(sent_notice, now):
    response = record_response(notice=sent_notice, action="need_info", now=now, message="Which file exactly?")

    sent_notice.refresh_from_db()
    assert sent_notice.status == "acknowledged"
    assert [(i[1], i[2]) for i in item_states(sent_notice)] == [("open", True), ("open", True)]
    assert (response.action, response.message) == ("need_info", "Which file exactly?")
    assert set(Url.objects.values_list("next_check_at", flat=True)) == {now}


def test_record_response_url_not_in_notice_is_refused(sent_notice, make_case, api_provider, now):
    stranger = make_case("http://files.pickup.example/other.html", provider=api_provider, when=now)
    first, _ = url_ids(sent_notice)

    with pytest.raises(NoticeError) as raised:
        record_response(notice=sent_notice, action="removed", now=now, url_ids=[first, stranger.pk])

    assert raised.value.errors == {"urls": [f"URL {stranger.pk} is not in notice {sent_notice.reference}."]}
    assert ProviderResponse.objects.count() == 0
    assert Event.objects.filter(kind="notice.response").count() == 0
    sent_notice.refresh_from_db()
    assert (sent_notice.status, sent_notice.acknowledged_at) == ("sent", None)
    assert [i[1] for i in item_states(sent_notice)] == ["open", "open"]


def test_record_response_to_draft_notice_is_refused(make_case, api_provider, analyst, now):
    case = make_case("http://files.pickup.example/a.html", provider=api_provider, when=now)
    (draft,) = create_notices(urls=[case], notice_type="hotline_notice", now=now, created_by=analyst)

    with pytest.raises(NoticeError) as raised:
        record_response(notice=draft, action="acknowledge", now=now)

    assert raised.value.errors == {"detail": [f"Notice {draft.reference} cannot be answered while draft."]}
    assert ProviderResponse.objects.count() == 0
    draft.refresh_from_db()
    assert (draft.status, draft.acknowledged_at) == ("draft", None)


def test_record_response_to_closed_notice_is_refused(sent_notice, now):
    type(sent_notice).objects.filter(pk=sent_notice.pk).update(status="closed", closed_at=now)

    with pytest.raises(NoticeError) as raised:
        record_response(notice=sent_notice, action="removed", now=now)

    assert raised.value.errors == {
        "detail": [f"Notice {sent_notice.reference} cannot be answered while closed."]
    }
