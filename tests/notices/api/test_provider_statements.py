"""Provider API: per-URL removal with a statement of reasons (DSA vocabulary, same validation as the portal),
`suggested_provider` with "not our customer", the statements export, and the `since` filter."""

from __future__ import annotations

import pytest

from notices.models import AuditEvent, Event, ProviderResponse

pytestmark = pytest.mark.django_db

STATEMENT = {
    "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
    "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
    "illegal_content_legal_ground": "CSAM (Directive 2011/93/EU, Art. 5)",
    "illegal_content_explanation": "Notified by a hotline; checked and removed.",
    "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "category_specification": ["KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"],
    "content_type": ["CONTENT_TYPE_IMAGE"],
    "territorial_scope": ["NL", "DE"],
    "content_date": "2026-01-02",
    "application_date": "2026-01-03",
    "decision_facts": "Removed after the hotline's notice.",
    "source_type": "SOURCE_TRUSTED_FLAGGER",
    "automated_detection": "No",
    "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
}


def _respond(client, reference, body):
    return client.post(f"/api/v1/provider/notices/{reference}/responses/", body, format="json")


def test_removed_per_url_with_statement(provider_api, sent_notice):
    _first, second = sorted(sent_notice.items.values_list("url_id", flat=True))
    response = _respond(
        provider_api,
        sent_notice.reference,
        {"action": "removed", "urls": [second], "statement_of_reasons": {**STATEMENT, "puid": "T-42"}},
    )
    assert response.status_code == 201, response.content
    assert response.json()["urls"] == [second]
    assert response.json()["statement_of_reasons"] == {**STATEMENT, "puid": "T-42"}
    export = provider_api.get(f"/api/v1/provider/notices/{sent_notice.reference}/statements/")
    assert export.json() == {"statements": [{**STATEMENT, "puid": "T-42"}]}
    assert AuditEvent.objects.filter(action="notice.export", object_id=sent_notice.reference).count() == 1


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        (
            {"category": "STATEMENT_CATEGORY_CSAM"},
            {"category": ["“STATEMENT_CATEGORY_CSAM” is not a valid choice."]},
        ),
        ({"decision_ground": None}, {"decision_ground": ["This field is required."]}),
        ({"illegal_content_explanation": ""}, {"illegal_content_explanation": ["This field is required."]}),
        ({"territorial_scope": ["US"]}, {"territorial_scope": ["“US” is not a valid choice."]}),
        ({"content_date": "1999-12-31"}, {"content_date": ["Must be on or after 2000-01-01."]}),
        ({"application_date": "3.1.2026"}, {"application_date": ["Use the form YYYY-MM-DD."]}),
        (
            {"end_date_visibility_restriction": "2026-01-01"},
            {"end_date_visibility_restriction": ["Must be on or after the application date."]},
        ),
        (
            {"decision_visibility": ["DECISION_VISIBILITY_OTHER"]},
            {"decision_visibility_other": ["This field is required."]},
        ),
        (
            {"decision_visibility": []},
            {
                "decision_visibility": [
                    "State at least one decision (visibility, monetary, service or account)."
                ]
            },
        ),
        ({"automated_detection": True}, {"automated_detection": ["“True” is not a valid choice."]}),
        ({"puid": "has space"}, {"puid": ["Only letters, digits, “-” and “_”."]}),
        ({"colour": "red"}, {"colour": ["Unknown field."]}),
        ({"decision_facts": "x" * 5001}, {"decision_facts": ["At most 5000 characters."]}),
    ],
)
def test_removed_with_invalid_statement_is_400_and_writes_nothing(provider_api, sent_notice, change, errors):
    statement = {k: v for k, v in {**STATEMENT, **change}.items() if v is not None}
    response = _respond(
        provider_api, sent_notice.reference, {"action": "removed", "statement_of_reasons": statement}
    )
    assert response.status_code == 400
    assert response.json() == {"statement_of_reasons": errors}
    assert ProviderResponse.objects.count() == 0
    sent_notice.refresh_from_db()
    assert sent_notice.status == "sent"


def test_not_our_customer_with_suggestion_goes_back_to_analysts(provider_api, sent_notice):
    response = _respond(
        provider_api,
        sent_notice.reference,
        {"action": "not_our_customer", "suggested_provider": "cloud.example abuse@cloud.example"},
    )
    assert response.status_code == 201
    sent_notice.refresh_from_db()
    assert sent_notice.status == "disputed"
    event = Event.objects.get(kind="notice.response")
    assert event.data["suggested_provider"] == "cloud.example abuse@cloud.example"


def test_provider_list_since_filter(provider_api, sent_notice):
    since = sent_notice.sent_at.isoformat().replace("+00:00", "Z")
    refs = [
        n["reference"] for n in provider_api.get(f"/api/v1/provider/notices/?since={since}").json()["results"]
    ]
    assert refs == [sent_notice.reference]
    later = provider_api.get("/api/v1/provider/notices/?since=2099-01-01T00:00:00Z").json()["results"]
    assert later == []
