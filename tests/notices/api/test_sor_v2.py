"""Statements of reasons in the DSA Transparency Database's v2 vocabulary and field set (notices/services/
sor.py): the values, the field rules, the provider API's 400s, and the staff export (command and API)."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from notices.models import AuditEvent, ProviderResponse
from notices.services import sor

pytestmark = pytest.mark.django_db

# v2 (in force since 1 July 2025), written down from the database's API documentation.
V2_CATEGORIES = [
    "ANIMAL_WELFARE",
    "CONSUMER_INFORMATION",
    "CYBER_VIOLENCE",
    "CYBER_VIOLENCE_AGAINST_WOMEN",
    "DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "ILLEGAL_OR_HARMFUL_SPEECH",
    "INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "NOT_SPECIFIED_NOTICE",
    "OTHER_VIOLATION_TC",
    "PROTECTION_OF_MINORS",
    "RISK_FOR_PUBLIC_SECURITY",
    "SCAMS_AND_FRAUD",
    "SELF_HARM",
    "UNSAFE_AND_PROHIBITED_PRODUCTS",
    "VIOLENCE",
]
CSAM_KEYWORDS = [
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE",
    "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS",
]
V1_ONLY = {
    "category": [
        "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT",
        "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR",
        "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE",
        "STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS",
    ],
    "category_specification": [
        "KEYWORD_IMAGE_BASED_SEXUAL_ABUSE",
        "KEYWORD_DANGEROUS_TOYS",
        "KEYWORD_DISINFORMATION",
        "KEYWORD_ONLINE_BULLYING_INTIMIDATION",
    ],
}

WEB_ADDRESS = "Must be a web address (http:// or https://)."
STATEMENT = {
    "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
    "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
    "illegal_content_legal_ground": "CSAM (Directive 2011/93/EU, Art. 5)",
    "illegal_content_explanation": "Notified by a hotline; checked and removed.",
    "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "category_specification": [
        "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
        "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
    ],
    "content_type": ["CONTENT_TYPE_IMAGE", "CONTENT_TYPE_SYNTHETIC_MEDIA"],
    "content_date": "2026-01-02",
    "application_date": "2026-01-03",
    "decision_facts": "Removed after the hotline's notice.",
    "source_type": "SOURCE_TRUSTED_FLAGGER",
    "source_identity": "Demo Hotline",
    "automated_detection": "No",
    "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
}


def test_vocabulary_is_v2():
    assert sorted(sor.CATEGORY) == sorted(f"STATEMENT_CATEGORY_{c}" for c in V2_CATEGORIES)
    assert set(CSAM_KEYWORDS) <= sor.KEYWORDS and set(CSAM_KEYWORDS) <= set(sor.MINORS_KEYWORDS)
    assert "CONTENT_TYPE_SYNTHETIC_MEDIA" in sor.CONTENT_TYPE
    assert set(sor.SOURCE_TYPE) == {
        "SOURCE_ARTICLE_16",
        "SOURCE_TRUSTED_FLAGGER",
        "SOURCE_TYPE_OTHER_NOTIFICATION",
        "SOURCE_VOLUNTARY",
    }
    assert "69e80a0b" in sor.__doc__ and "1 July 2025" in sor.__doc__


@pytest.mark.parametrize(("field", "value"), [(f, v) for f, values in V1_ONLY.items() for v in values])
def test_v1_values_are_refused(field, value):
    statement = {**STATEMENT, field: [value] if field == "category_specification" else value}
    with pytest.raises(sor.StatementError) as refused:
        sor.validate_statement(statement)
    assert refused.value.errors == {field: [f"“{value}” is not a valid choice."]}


def test_territorial_scope_is_optional_in_v2():
    assert "territorial_scope" not in sor.validate_statement(STATEMENT)


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"content_id": {"EAN-13": "12345"}}, {"content_id": ["An EAN-13 code is 13 digits."]}),
        ({"content_id": {"ISBN": "9780000000002"}}, {"content_id": ["Only {“EAN-13”: “code”} is accepted."]}),
        ({"content_date": "2038-01-02"}, {"content_date": ["Must be on or before 2038-01-01."]}),
        ({"decision_ground_reference_url": "terms"}, {"decision_ground_reference_url": [WEB_ADDRESS]}),
    ],
)
def test_v2_field_rules(change, errors):
    with pytest.raises(sor.StatementError) as refused:
        sor.validate_statement({**STATEMENT, **change})
    assert refused.value.errors == errors


def test_v2_accepts_an_ean_and_a_reference_url():
    statement = {
        **STATEMENT,
        "content_id": {"EAN-13": "0123456789123"},
        "decision_ground_reference_url": "https://provider.example/terms",
    }
    assert sor.validate_statement(statement) == statement


def test_fields_that_do_not_apply_are_left_out_as_the_database_does():
    statement = {
        **STATEMENT,
        "incompatible_content_ground": "§ 4",
        "incompatible_content_illegal": "Yes",
        "content_type_other": "zip",
        "decision_visibility_other": "x",
    }
    assert sor.validate_statement(statement) == STATEMENT
    voluntary = {**STATEMENT, "source_type": "SOURCE_VOLUNTARY"}
    assert "source_identity" not in sor.validate_statement(voluntary)


def test_trusted_flagger_notice_needs_the_trusted_flagger_source_type():
    with pytest.raises(sor.StatementError) as refused:
        sor.validate_statement({**STATEMENT, "source_type": "SOURCE_ARTICLE_16"}, trusted_flagger=True)
    assert refused.value.errors == {
        "source_type": ["The notice came from a trusted flagger: use SOURCE_TRUSTED_FLAGGER."]
    }
    assert sor.validate_statement(STATEMENT, trusted_flagger=True) == STATEMENT


def test_provider_api_refuses_article_16_on_a_trusted_flagger_notice(
    provider_api, api_only, make_case, make_notice, now
):
    case = make_case("http://files.polder.example/tf.html", provider=api_only, when=now)
    notice = make_notice(case, now=now, notice_type="trusted_flagger")
    body = {"action": "removed", "statement_of_reasons": {**STATEMENT, "source_type": "SOURCE_ARTICLE_16"}}
    response = provider_api.post(
        f"/api/v1/provider/notices/{notice.reference}/responses/", body, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "statement_of_reasons": {
            "source_type": ["The notice came from a trusted flagger: use SOURCE_TRUSTED_FLAGGER."]
        }
    }
    assert ProviderResponse.objects.count() == 0


@pytest.fixture
def statements(provider_api, sent_notice, other_sent_notice):
    """Two removals with statements (one provider), and one stored before a rule it now breaks."""
    first, second = sorted(sent_notice.items.values_list("url_id", flat=True))
    for url, puid in ((first, "P-1"), (second, None)):
        statement = {**STATEMENT, **({"puid": puid} if puid else {})}
        response = provider_api.post(
            f"/api/v1/provider/notices/{sent_notice.reference}/responses/",
            {"action": "removed", "urls": [url], "statement_of_reasons": statement},
            format="json",
        )
        assert response.status_code == 201, response.content
    old = ProviderResponse.objects.create(
        notice=other_sent_notice,
        action="removed",
        created_at=sent_notice.sent_at,
        statement_of_reasons={**STATEMENT, "content_date": "2040-01-01"},
    )
    return list(ProviderResponse.objects.order_by("pk")), old


def test_staff_api_exports_v2_statements_and_names_the_invalid(staff_api, statements, sent_notice):
    (_first, second, old), _old = statements
    response = staff_api.get("/api/v1/statements/")
    assert response.status_code == 200
    body = response.json()
    assert [s["puid"] for s in body["statements"]] == ["P-1", f"{sent_notice.reference}-{second.pk}"]
    assert body["statements"][0] == {**STATEMENT, "puid": "P-1"}
    assert body["invalid"] == [
        {
            "puid": f"{old.notice.reference}-{old.pk}",
            "errors": {"content_date": ["Must be on or before 2038-01-01."]},
        }
    ]
    only = staff_api.get("/api/v1/statements/?provider=polder").json()
    assert (len(only["statements"]), only["invalid"]) == (2, [])
    assert staff_api.get("/api/v1/statements/?since=yesterday").status_code == 400
    assert staff_api.get("/api/v1/statements/?colour=red").status_code == 400
    assert AuditEvent.objects.filter(action="statements.export").count() == 2


def test_export_statements_command(statements, tmp_path, capsys):
    path = tmp_path / "statements.json"
    with pytest.raises(CommandError) as error:
        call_command("export_statements", output=str(path))
    assert str(error.value) == "1 statement(s) the database would refuse were left out"
    written = json.loads(path.read_text())
    assert list(written) == ["statements"] and len(written["statements"]) == 2
    assert all(sor.validate_statement(s) == s for s in written["statements"])
    assert "left out" in capsys.readouterr().err
    call_command("export_statements", output=str(path), provider="polder")
    assert len(json.loads(path.read_text())["statements"]) == 2
