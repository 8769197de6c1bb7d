"""The provider side of the API (notices/api/provider_views.py): one door, `notices_for_provider`.

Every test of the door includes a second provider whose notices could leak; another provider's notice is
always a 404 exactly like a notice that does not exist (never a 403, never a hint).
"""

from __future__ import annotations

import pytest

from notices.models import AuditEvent, Event, Notice, NoticeItem, ProviderResponse, Url

pytestmark = pytest.mark.django_db

NOT_FOUND = {"detail": "Not found."}


def _refs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [n["reference"] for n in response.json()["results"]]


def _respond(client, reference, body):
    return client.post(f"/api/v1/provider/notices/{reference}/responses/", body, format="json")


def _number(reference: str) -> int:
    return int(reference.rsplit("-", 1)[1])


# --- isolation ----------------------------------------------------------------------------------------------


def test_provider_notice_detail_own_notice(provider_api, sent_notice):
    response = provider_api.get(f"/api/v1/provider/notices/{sent_notice.reference}/")
    assert response.status_code == 200
    body = response.json()
    assert (body["reference"], body["status"], body["provider"]["slug"]) == (
        sent_notice.reference,
        "sent",
        "polder",
    )
    assert sorted(i["url_id"] for i in body["items"]) == sorted(
        sent_notice.items.values_list("url_id", flat=True)
    )


def test_provider_notice_detail_writes_audit_row(provider_api, sent_notice):
    provider_api.get(f"/api/v1/provider/notices/{sent_notice.reference}/", REMOTE_ADDR="192.0.2.7")
    assert list(AuditEvent.objects.values_list("actor", "action", "object_type", "object_id", "ip")) == [
        (f"key:{provider_api.key.prefix}", "notice.view", "notice", sent_notice.reference, "192.0.2.7")
    ]


def test_provider_notice_detail_of_other_provider_is_404(provider_api, sent_notice, other_sent_notice):
    response = provider_api.get(f"/api/v1/provider/notices/{other_sent_notice.reference}/")
    unknown = provider_api.get("/api/v1/provider/notices/TN-2099-999999/")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert (unknown.status_code, unknown.json()) == (404, NOT_FOUND)
    assert AuditEvent.objects.count() == 0


def test_provider_notice_detail_other_key_never_reaches_first(
    other_provider_api, sent_notice, other_sent_notice
):
    response = other_provider_api.get(f"/api/v1/provider/notices/{sent_notice.reference}/")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert (
        other_provider_api.get(f"/api/v1/provider/notices/{other_sent_notice.reference}/").status_code == 200
    )


def test_provider_notice_guessed_references_are_404(other_provider_api, sent_notice, other_sent_notice):
    """Walking the reference sequence around a known notice finds only the caller's own."""
    number = _number(sent_notice.reference)
    year = sent_notice.reference.split("-")[1]
    seen = {}
    for n in range(max(number - 10, 1), number + 10):
        for reference in (f"TN-{year}-{n:06d}", f"TN-{year}-{n}", f"tn-{year}-{n:06d}"):
            response = other_provider_api.get(f"/api/v1/provider/notices/{reference}/")
            seen[reference] = response.status_code
            if reference != other_sent_notice.reference:
                assert (response.status_code, response.json()) == (404, NOT_FOUND), reference
    assert seen[other_sent_notice.reference] == 200


def test_provider_response_to_other_provider_notice_is_404(
    other_provider_api, sent_notice, other_sent_notice
):
    url_ids = list(sent_notice.items.values_list("url_id", flat=True))
    response = _respond(other_provider_api, sent_notice.reference, {"action": "removed", "urls": url_ids})
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert ProviderResponse.objects.count() == 0
    sent_notice.refresh_from_db()
    assert (sent_notice.status, sent_notice.acknowledged_at) == ("sent", None)
    assert set(NoticeItem.objects.filter(notice=sent_notice).values_list("status", flat=True)) == {"open"}
    assert AuditEvent.objects.count() == 0


def test_provider_response_invalid_body_to_other_notice_is_still_404(other_provider_api, sent_notice):
    """A body that would be a 400 must not tell a stranger the notice exists."""
    response = _respond(other_provider_api, sent_notice.reference, {"action": "explode"})
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_provider_notice_list_only_own(provider_api, other_provider_api, sent_notice, other_sent_notice):
    assert _refs(provider_api.get("/api/v1/provider/notices/")) == [sent_notice.reference]
    assert _refs(other_provider_api.get("/api/v1/provider/notices/")) == [other_sent_notice.reference]


@pytest.mark.parametrize(
    "query", ["?status=sent", "?provider=polder", "?provider=balkan", "?since=2000-01-01T00:00:00Z"]
)
def test_provider_notice_list_filters_never_widen(other_provider_api, sent_notice, other_sent_notice, query):
    assert _refs(other_provider_api.get(f"/api/v1/provider/notices/{query}")) == [other_sent_notice.reference]


def test_provider_notice_list_status_filter(provider_api, sent_notice, other_sent_notice):
    assert _refs(provider_api.get("/api/v1/provider/notices/?status=sent")) == [sent_notice.reference]
    assert _refs(provider_api.get("/api/v1/provider/notices/?status=acknowledged")) == []
    response = provider_api.get("/api/v1/provider/notices/?status=bogus")
    assert (response.status_code, response.json()) == (400, {"status": ['"bogus" is not a valid choice.']})


def test_provider_notice_list_cursor_stays_scoped(
    provider_api, other_provider_api, make_case, make_notice, api_only, other_api_only, now
):
    own = [
        make_notice(make_case(f"http://cdn.balkan.example/{i}", provider=other_api_only, when=now), now=now)
        for i in range(3)
    ]
    make_notice(make_case("http://files.polder.example/x", provider=api_only, when=now), now=now)
    first = other_provider_api.get("/api/v1/provider/notices/?limit=2")
    assert _refs(first) == [own[2].reference, own[1].reference]
    assert _refs(other_provider_api.get(first.json()["next"])) == [own[0].reference]


@pytest.mark.parametrize("state", ["draft", "queued", "failed"])
def test_provider_notice_unsent_states_invisible_to_own_provider(
    provider_api, make_case, make_notice, provider, now, state
):
    notice = make_notice(make_case(provider=provider, when=now), now=now, send=state != "draft")
    if state == "failed":
        Notice.objects.filter(pk=notice.pk).update(status="failed")
    assert Notice.objects.get(pk=notice.pk).status == state
    detail = provider_api.get(f"/api/v1/provider/notices/{notice.reference}/")
    assert (detail.status_code, detail.json()) == (404, NOT_FOUND)
    assert _refs(provider_api.get("/api/v1/provider/notices/")) == []
    assert _refs(provider_api.get(f"/api/v1/provider/notices/?status={state}")) == []
    response = _respond(provider_api, notice.reference, {"action": "acknowledge"})
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert ProviderResponse.objects.count() == 0


# --- responses ----------------------------------------------------------------------------------------------


def test_provider_response_acknowledge(provider_api, sent_notice):
    response = _respond(provider_api, sent_notice.reference, {"action": "acknowledge", "message": "on it"})
    assert response.status_code == 201, response.content
    row = ProviderResponse.objects.get()
    url_ids = sorted(sent_notice.items.values_list("url_id", flat=True))
    body = response.json()
    assert body == {
        "id": row.pk,
        "action": "acknowledge",
        "urls": body["urls"],
        "message": "on it",
        "statement_of_reasons": {},
        "created_at": body["created_at"],
    }
    assert sorted(body["urls"]) == url_ids
    assert row.api_key == provider_api.key
    sent_notice.refresh_from_db()
    assert sent_notice.status == "acknowledged"
    assert sent_notice.acknowledged_at == row.created_at
    assert set(Url.objects.filter(pk__in=url_ids).values_list("acknowledged_at", flat=True)) == {
        row.created_at
    }
    event = Event.objects.get(kind="notice.response")
    assert (event.notice_id, event.actor, event.data["action"]) == (
        sent_notice.pk,
        f"key:{provider_api.key.prefix}",
        "acknowledge",
    )
    assert list(AuditEvent.objects.values_list("action", "object_id")) == [
        ("notice.respond.acknowledge", sent_notice.reference)
    ]


def test_provider_response_removed_for_subset(provider_api, sent_notice):
    first, second = sorted(sent_notice.items.values_list("url_id", flat=True))
    Url.objects.filter(pk__in=[first, second]).update(next_check_at=None)
    response = _respond(provider_api, sent_notice.reference, {"action": "removed", "urls": [first]})
    assert response.status_code == 201, response.content
    assert response.json()["urls"] == [first]
    items = dict(NoticeItem.objects.filter(notice=sent_notice).values_list("url_id", "status"))
    assert items == {first: "reported_removed", second: "open"}
    row = ProviderResponse.objects.get()
    assert NoticeItem.objects.get(url_id=first).reported_removed_at == row.created_at
    assert Url.objects.get(pk=first).next_check_at == row.created_at
    assert Url.objects.get(pk=second).next_check_at is None
    sent_notice.refresh_from_db()
    assert sent_notice.status == "acknowledged"


def test_provider_response_refused_disputes(provider_api, sent_notice):
    body = {"action": "refused", "message": "legal content", "statement_of_reasons": {"ground": "art. 17"}}
    response = _respond(provider_api, sent_notice.reference, body)
    assert response.status_code == 201
    assert response.json()["statement_of_reasons"] == {"ground": "art. 17"}
    sent_notice.refresh_from_db()
    assert sent_notice.status == "disputed"
    assert set(NoticeItem.objects.filter(notice=sent_notice).values_list("status", flat=True)) == {"disputed"}


def test_provider_response_url_not_in_notice_is_400(provider_api, sent_notice, other_sent_notice):
    stranger = other_sent_notice.items.get().url_id
    own = sent_notice.items.values_list("url_id", flat=True)[0]
    response = _respond(provider_api, sent_notice.reference, {"action": "removed", "urls": [own, stranger]})
    assert response.status_code == 400
    assert response.json() == {"urls": [f"URL {stranger} is not in notice {sent_notice.reference}."]}
    assert ProviderResponse.objects.count() == 0
    assert set(NoticeItem.objects.values_list("status", flat=True)) == {"open"}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"action": ["This field is required."]}),
        ({"action": "delete"}, {"action": ['"delete" is not a valid choice.']}),
        ({"action": "REMOVED"}, {"action": ['"REMOVED" is not a valid choice.']}),
        ({"action": "refused"}, {"message": ["Say why (a reason or what you need)."]}),
        ({"action": "refused", "message": "   "}, {"message": ["Say why (a reason or what you need)."]}),
        ({"action": "need_info"}, {"message": ["Say why (a reason or what you need)."]}),
        ({"action": "removed", "urls": "all"}, {"urls": ['Expected a list of items but got type "str".']}),
        (
            {"action": "removed", "urls": [-1]},
            {"urls": {"0": ["Ensure this value is greater than or equal to 1."]}},
        ),
        (
            {"action": "acknowledge", "statement_of_reasons": ["x"]},
            {"statement_of_reasons": ['Expected a dictionary of items but got type "list".']},
        ),
        (
            {"action": "acknowledge", "statement_of_reasons": {"a": "x\u0000y"}},
            {"statement_of_reasons": ["Text must not contain NUL characters."]},
        ),
        (
            {"action": "acknowledge", "statement_of_reasons": {"a\u0000": 1}},
            {"statement_of_reasons": ["Text must not contain NUL characters."]},
        ),
        ({"action": "acknowledge", "message": "x\u0000"}, {"message": ["Null characters are not allowed."]}),
    ],
)
def test_provider_response_invalid_is_400_and_writes_nothing(provider_api, sent_notice, body, errors):
    response = _respond(provider_api, sent_notice.reference, body)
    assert response.status_code == 400
    assert response.json() == errors
    assert ProviderResponse.objects.count() == 0
    sent_notice.refresh_from_db()
    assert (sent_notice.status, sent_notice.acknowledged_at) == ("sent", None)


@pytest.mark.parametrize(
    ("raw", "errors"),
    [
        (
            '{"action": "acknowledge", "statement_of_reasons": {"a": "\\ud800"}}',
            {"detail": "JSON parse error - text contains a lone UTF-16 surrogate."},
        ),
        (
            '{"action": "acknowledge", "statement_of_reasons": {"\\udfff": 1}}',
            {"detail": "JSON parse error - text contains a lone UTF-16 surrogate."},
        ),
        (
            '{"action": "acknowledge", "statement_of_reasons": {"a": [1, 1e400]}}',
            {"statement_of_reasons": ["Numbers must be finite."]},
        ),
    ],
    ids=["lone surrogate value", "lone surrogate key", "infinity"],
)
def test_provider_response_statement_jsonb_cannot_store_is_400(provider_api, sent_notice, raw, errors):
    response = provider_api.post(
        f"/api/v1/provider/notices/{sent_notice.reference}/responses/", raw, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == errors
    assert ProviderResponse.objects.count() == 0


def test_provider_response_to_closed_notice_is_409(provider_api, sent_notice, now):
    from notices.services.notices import close_item_removed

    for url in Url.objects.filter(notice_items__notice=sent_notice):
        close_item_removed(url=url, at=now)
    response = _respond(provider_api, sent_notice.reference, {"action": "acknowledge"})
    assert response.status_code == 409
    assert response.json() == {"detail": f"Notice {sent_notice.reference} cannot be answered while closed."}
    assert ProviderResponse.objects.count() == 0


def test_provider_response_unknown_reference_is_404(provider_api, sent_notice):
    for reference in ["TN-2099-999999", "%00", "x" * 300]:
        response = _respond(provider_api, reference, {"action": "acknowledge"})
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
