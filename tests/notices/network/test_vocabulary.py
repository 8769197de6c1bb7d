"""The hotline network's shared assessment vocabulary (notices/enums.py): stored on the assessment, refused
outside its enums (service, API, admin, database), published in the schema, and a statistics dimension."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from notices.models import Assessment, Url
from notices.services.assessment import AssessmentError, assess_url
from tests.conftest import confirm_removed

pytestmark = pytest.mark.django_db


def test_assessment_network_classification_follows_legality(make_case, api_only, analyst, now):
    case = make_case(provider=api_only, when=now)
    national = assess_url(
        url=case, analyst=analyst, legality="illegal_national", classification="B1", now=now
    )
    nothing = assess_url(url=case, analyst=analyst, legality="not_illegal", now=now)
    classes = dict(Assessment.objects.values_list("pk", "network_classification"))
    assert (classes[case.current_assessment_id], classes[national.pk], classes[nothing.pk]) == (
        "baseline",
        "national",
        "not_illegal",
    )


def test_assessment_stores_network_vocabulary(make_case, api_only, analyst, now):
    case = make_case(provider=api_only, when=now)
    made = assess_url(
        url=case,
        analyst=analyst,
        legality="illegal_international",
        classification="A1",
        now=now,
        age_band="prepubescent",
        victim_gender="female",
        virtual_content=True,
        site_type="image_host",
        commercial=True,
        payment_methods=["cryptocurrency", "card", "card"],
    )
    made.refresh_from_db()
    assert (made.age_band, made.victim_gender, made.virtual_content, made.user_generated) == (
        "prepubescent",
        "female",
        True,
        False,
    )
    assert (made.site_type, made.commercial, made.payment_methods) == (
        "image_host",
        True,
        ["card", "cryptocurrency"],
    )


def test_assess_refuses_values_outside_the_vocabulary(make_case, api_only, analyst, now):
    case = make_case(provider=api_only, when=now)
    with pytest.raises(AssessmentError) as caught:
        assess_url(
            url=case,
            analyst=analyst,
            legality="illegal_international",
            classification="A1",
            now=now,
            site_type="darkweb",
            payment_methods=["card"],
            commercial=False,
        )
    assert caught.value.errors == {
        "site_type": ["Unknown value 'darkweb'."],
        "payment_methods": ["Payment methods are seen only on a commercial site."],
    }


def test_database_refuses_unknown_codes(make_case, api_only, now):
    case = make_case(provider=api_only, when=now)
    for column, value in (("site_type", "'darkweb'"), ("payment_methods", "ARRAY['cash']::varchar[]")):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE notices_assessment SET {column} = {value} WHERE id = %s",
                [case.current_assessment_id],
            )


def test_api_assess_takes_and_returns_the_vocabulary(staff_api, make_case, api_only, now):
    case = make_case(provider=api_only, when=now)
    body = {
        "legality": "illegal_national",
        "classification": "B2",
        "age_band": "pubescent",
        "victim_gender": "both",
        "user_generated": True,
        "child_modelling": True,
        "site_type": "forum",
        "commercial": None,
        "outcome_reason": "moved",
    }
    response = staff_api.post(f"/api/v1/urls/{case.pk}/assess/", body, format="json")
    assert response.status_code == 201, response.content
    answer = response.json()
    assert {key: answer[key] for key in (*body, "network_classification", "payment_methods")} == {
        **body,
        "network_classification": "national",
        "payment_methods": [],
    }


def test_api_assess_unknown_value_is_a_field_error(staff_api, make_case, api_only, now):
    case = make_case(provider=api_only, when=now)
    body = {
        "legality": "illegal_international",
        "classification": "A1",
        "site_type": "darkweb",
        "payment_methods": ["cash"],
    }
    response = staff_api.post(f"/api/v1/urls/{case.pk}/assess/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"site_type", "payment_methods"}
    assert Url.objects.get(pk=case.pk).current_assessment_id == case.current_assessment_id


def test_schema_publishes_the_vocabulary_enums(staff_api):
    schema = staff_api.get("/api/schema/?format=json").json()["components"]["schemas"]
    assert schema["NetworkClassificationEnum"]["enum"] == ["baseline", "national", "not_illegal"]
    assert "image_host" in schema["SiteTypeEnum"]["enum"]
    assert set(schema["OutcomeReasonEnum"]["enum"]) >= {
        "content_not_found",
        "temporarily_unavailable",
        "moved",
    }
    assert {"AgeBandEnum", "VictimGenderEnum", "PaymentMethodEnum"} <= set(schema)


def test_admin_assess_form_records_the_vocabulary(client, analyst, make_case, api_only, now):
    case = make_case(provider=api_only, when=now)
    client.force_login(analyst)
    form = {
        "legality": "illegal_international",
        "classification": "A2",
        "detection_method": "manual_review",
        "site_type": "file_host",
        "commercial": "true",
        "payment_methods": ["e_wallet"],
        "age_band": "infant",
    }
    response = client.post(f"/admin/notices/url/{case.pk}/assess/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    made = Url.objects.get(pk=case.pk).current_assessment
    assert (made.site_type, made.commercial, made.payment_methods, made.age_band) == (
        "file_host",
        True,
        ["e_wallet"],
        "infant",
    )


def _stats(client, query):
    response = client.get(f"/api/v1/stats/time-to-removal/?{query}")
    assert response.status_code == 200, response.content
    return [(g["key"], g["count"], g["median"]) for g in response.json()["groups"]]


@pytest.fixture
def vocabulary_cases(make_case, make_notice, api_only, analyst, now, settings):
    """Three noticed, removed cases: two baseline on an image host (TTR 100 and 300 s), one national forum
    (the hotline's own country, so a national case may be noticed)."""
    settings.HOTLINE_COUNTRY, settings.LAW_ENFORCEMENT_FIRST = "NL", False
    sent = now - timedelta(hours=5)
    cases = [make_case(f"http://files.polder.example/v{i}", provider=api_only, when=sent) for i in range(3)]
    for case, legality, site in zip(
        cases,
        ("illegal_international",) * 2 + ("illegal_national",),
        ("image_host", "image_host", "forum"),
        strict=True,
    ):
        assess_url(
            url=case, analyst=analyst, legality=legality, classification="A1", site_type=site, now=sent
        )
    make_notice(*cases, now=sent)
    for case, ttr in zip(cases, (100, 300, 1000), strict=True):
        confirm_removed(case, sent=sent, ttr=ttr)
    return cases


def test_stats_group_by_classification_and_site_type(staff_api, vocabulary_cases):
    assert _stats(staff_api, "group_by=classification") == [
        ("baseline", 2, {"low": 100, "high": 100}),
        ("national", 1, {"low": 1000, "high": 1000}),
    ]
    assert _stats(staff_api, "group_by=site_type") == [
        ("forum", 1, {"low": 1000, "high": 1000}),
        ("image_host", 2, {"low": 100, "high": 100}),
    ]


def test_stats_filter_by_classification_and_site_type(staff_api, vocabulary_cases):
    assert _stats(staff_api, "group_by=provider&classification=national") == [
        ("polder", 1, {"low": 1000, "high": 1000})
    ]
    assert _stats(staff_api, "group_by=classification&site_type=image_host") == [
        ("baseline", 2, {"low": 100, "high": 100})
    ]


def test_stats_network_dimension_counts_finished_cycles(staff_api, vocabulary_cases):
    """A reappeared case's finished cycle is grouped by its URL's assessment too."""
    from notices.models import RemovalCycle

    case = Url.objects.get(pk=vocabulary_cases[2].pk)
    sent = case.first_notice_sent_at
    RemovalCycle.objects.create(
        url=case,
        provider_at_notice=case.provider_at_notice,
        country_at_notice="NL",
        first_notice_sent_at=sent,
        removal_confirmed_at=sent,
        removed_low=sent,
        removed_high=sent,
        ttr_low=10,
        ttr_high=20,
        reappeared_at=sent,
    )
    groups = {key: count for key, count, _ in _stats(staff_api, "group_by=site_type")}
    assert groups == {"forum": 2, "image_host": 2}


def test_stats_unknown_vocabulary_value_is_400(staff_api):
    response = staff_api.get("/api/v1/stats/time-to-removal/?site_type=darkweb")
    assert response.status_code == 400
    assert set(response.json()) == {"site_type"}
    response = staff_api.get("/api/v1/stats/time-to-removal/?gender=female")
    assert (response.status_code, set(response.json())) == (400, {"gender"})
