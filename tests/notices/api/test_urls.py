"""URL cases through the API: list, detail, assess, trace (notices/api/views.py)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from notices.models import Assessment, Check, Event, HostingTrace, Url
from notices.services.intake import ReportInput, submit_report

pytestmark = pytest.mark.django_db


def iso(dt) -> str | None:
    """A datetime as the API renders it (UTC, `Z`)."""
    return None if dt is None else dt.isoformat().replace("+00:00", "Z")


def _new_url(url: str, when) -> Url:
    return Url.objects.get(pk=submit_report(item=ReportInput(url=url), now=when).url_id)


@pytest.fixture
def three_cases(make_case, provider, other_provider, now):
    """Polder (NL, assessed) two days ago, Balkan (BG, assessed) yesterday, and a new untraced URL today."""
    polder = make_case("http://files.polder.example/a.html", provider=provider, when=now - timedelta(days=2))
    balkan = make_case(
        "http://cdn.balkan.example/b.jpg", provider=other_provider, when=now - timedelta(days=1)
    )
    fresh = _new_url("http://new.example/c.html", now)
    return polder, balkan, fresh


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# --- list ---------------------------------------------------------------------------------------------------


def test_url_list_newest_first(staff_api, three_cases):
    polder, balkan, fresh = three_cases
    response = staff_api.get("/api/v1/urls/")
    assert _ids(response) == [fresh.pk, balkan.pk, polder.pk]
    assert (response.json()["next"], response.json()["previous"]) == (None, None)


def test_url_list_row_fields(staff_api, three_cases):
    polder = Url.objects.get(pk=three_cases[0].pk)
    row = next(r for r in staff_api.get("/api/v1/urls/").json()["results"] if r["id"] == polder.pk)
    assert row == {
        "id": polder.pk,
        "canonical": "http://files.polder.example/a.html",
        "defanged": "hxxp://files[.]polder[.]example/a.html",
        "original": "http://files.polder.example/a.html",
        "host": "files.polder.example",
        "site": "polder.example",
        "status": "assessed",
        "provider": "polder",
        "country": "NL",
        "first_reported_at": iso(polder.first_reported_at),
        "assessed_at": iso(polder.assessed_at),
        "first_notice_sent_at": None,
        "removal_confirmed_at": None,
        "closed_at": None,
        "removal": {"low": None, "high": None},
        "ttr": {"low": None, "high": None},
        "reappearance_count": 0,
        "last_checked_at": None,
        "last_outcome": "",
        "next_check_at": iso(polder.next_check_at),  # due for its pre-notice check since its assessment
        "purged_at": None,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=new", ["fresh"]),
        ("status=assessed", ["balkan", "polder"]),
        ("status=removed", []),
        ("provider=polder", ["polder"]),
        ("provider=balkan", ["balkan"]),
        ("provider=nobody", []),
        ("country=BG", ["balkan"]),
        ("country=nl", ["polder"]),
        ("country=DE", []),
        ("status=assessed&country=NL", ["polder"]),
    ],
)
def test_url_list_filters(staff_api, three_cases, query, expected):
    by_name = dict(zip(["polder", "balkan", "fresh"], three_cases, strict=True))
    assert _ids(staff_api.get(f"/api/v1/urls/?{query}")) == [by_name[n].pk for n in expected]


def test_url_list_since_until(staff_api, three_cases, now):
    polder, balkan, fresh = three_cases
    since = (now - timedelta(days=1, hours=1)).isoformat()
    until = (now - timedelta(hours=1)).isoformat()
    assert _ids(staff_api.get("/api/v1/urls/", {"since": since})) == [fresh.pk, balkan.pk]
    assert _ids(staff_api.get("/api/v1/urls/", {"until": until})) == [balkan.pk, polder.pk]
    assert _ids(staff_api.get("/api/v1/urls/", {"since": since, "until": until})) == [balkan.pk]


DATETIME_FORMAT_ERROR = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("since=yesterday", {"since": [DATETIME_FORMAT_ERROR]}),
        ("until=2026-13-01", {"until": [DATETIME_FORMAT_ERROR]}),
        ("status=bogus", {"status": ['"bogus" is not a valid choice.']}),
        ("country=NLD", {"country": ["This value does not match the required pattern."]}),
        (
            "provider=not%20a%20slug",
            {"provider": ['Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.']},
        ),
    ],
)
def test_url_list_bad_filter_is_400(staff_api, three_cases, query, errors):
    response = staff_api.get(f"/api/v1/urls/?{query}")
    assert response.status_code == 400
    assert response.json() == errors


def test_url_list_cursor_pagination(staff_api, three_cases):
    polder, balkan, fresh = three_cases
    first = staff_api.get("/api/v1/urls/?limit=2")
    assert _ids(first) == [fresh.pk, balkan.pk]
    assert first.json()["previous"] is None
    assert first.json()["next"] is not None
    following = staff_api.get(first.json()["next"])
    assert _ids(following) == [polder.pk]
    assert following.json()["next"] is None
    assert following.json()["previous"] is not None
    back = staff_api.get(following.json()["previous"])
    assert _ids(back) == [fresh.pk, balkan.pk]


def test_url_list_cursor_keeps_filters(staff_api, three_cases):
    polder, balkan, _ = three_cases
    first = staff_api.get("/api/v1/urls/?status=assessed&limit=1")
    assert _ids(first) == [balkan.pk]
    assert "status=assessed" in urlsplit(first.json()["next"]).query
    assert _ids(staff_api.get(first.json()["next"])) == [polder.pk]


def test_url_list_bad_cursor_is_404(staff_api, three_cases):
    response = staff_api.get("/api/v1/urls/?cursor=not-a-cursor")
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid cursor"}


# --- detail -------------------------------------------------------------------------------------------------


@pytest.fixture
def full_case(make_case, make_notice, api_only, now):
    """A case with everything the detail shows: assessment, two traces (one a hop), a sent notice, checks and
    a confirmed removal with TTR bounds."""
    case = make_case(provider=api_only, when=now - timedelta(hours=5))
    trace = case.current_trace
    HostingTrace.objects.filter(pk=trace.pk).update(
        sources=[{"source": "dns", "query": "files.polder.example A", "answer": ["198.51.100.10"]}],
        prefix="198.51.100.0/25",
        abuse_emails=["abuse@polder.example"],
    )
    hop = HostingTrace.objects.create(
        url=case,
        traced_at=now - timedelta(hours=1),
        host=case.host,
        ips=["198.51.100.20"],
        ip="198.51.100.20",
        provider=api_only,
        country="NL",
        asn=64500,
        sources=[{"source": "dns", "query": "q", "answer": "a"}],
        is_hop=True,
    )
    notice = make_notice(case, now=now - timedelta(hours=4))
    Check.objects.create(
        url=case,
        checked_at=now - timedelta(hours=3),
        outcome="live",
        status_code=200,
        final_url=case.canonical,
        resolved_ip="198.51.100.10",
        elapsed_ms=12,
    )
    Check.objects.create(
        url=case,
        checked_at=now - timedelta(hours=2),
        outcome="gone",
        status_code=404,
        final_url=case.canonical,
        resolved_ip="198.51.100.10",
        elapsed_ms=9,
    )
    Url.objects.filter(pk=case.pk).update(
        status="removed",
        removal_confirmed_at=now - timedelta(hours=1),
        removed_low=now - timedelta(hours=3),
        removed_high=now - timedelta(hours=2),
        ttr_low=3600,
        ttr_high=7200,
    )
    return case, trace, hop, notice


# The hotline network's vocabulary when an assessment records none of it (ICCAM's class follows legality).
NOT_RECORDED = {
    "network_classification": "baseline",
    "age_band": "",
    "victim_gender": "",
    "virtual_content": False,
    "user_generated": False,
    "child_modelling": False,
    "site_type": "",
    "commercial": None,
    "payment_methods": [],
    "outcome_reason": "",
}


def test_url_detail_shows_the_whole_case(staff_api, full_case, analyst, now):
    case, trace, hop, notice = full_case
    case.refresh_from_db()
    response = staff_api.get(f"/api/v1/urls/{case.pk}/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "removed"
    assert body["assessment"] == {
        "legality": "illegal_international",
        "classification": "A1",
        "detection_method": "manual_review",
        "media_type": "",
        "severity": None,
        "legal_basis": "",
        "notes": "",
        "created_at": iso(case.current_assessment.created_at),
        **NOT_RECORDED,
    }
    assert body["trace"] == {
        "id": trace.pk,
        "traced_at": iso(trace.traced_at),
        "host": "files.polder.example",
        "ips": ["198.51.100.10"],
        "cnames": [],
        "ip": "198.51.100.10",
        "prefix": "198.51.100.0/25",
        "asn": 64500,
        "provider": "polder",
        "country": "NL",
        "is_eu": True,
        "abuse_emails": ["abuse@polder.example"],
        "sources": [{"source": "dns", "query": "files.polder.example A", "answer": ["198.51.100.10"]}],
        "error": "",
        "is_hop": False,
        "org_handle": "",
        "allocation_holder": "",
        "origin_as_org": "",
        "country_source": "",
        "intermediary": None,
        "origin_unknown": False,
        "override": None,
    }
    assert [h["id"] for h in body["hops"]] == [hop.pk]
    assert body["hops"][0]["ip"] == "198.51.100.20"
    assert body["notices"] == [
        {
            "reference": notice.reference,
            "status": "sent",
            "item_status": "open",
            "sent_at": iso(notice.sent_at),
        }
    ]
    assert [(c["outcome"], c["status_code"]) for c in body["checks"]] == [("gone", 404), ("live", 200)]
    assert body["checks"][0] == {
        "checked_at": iso(now - timedelta(hours=2)),
        "outcome": "gone",
        "status_code": 404,
        "final_url": case.canonical,
        "error_class": "",
        "resolved_ip": "198.51.100.10",
        "elapsed_ms": 9,
        "redirects": 0,
        "vantage": "direct",
    }
    assert body["removal"] == {"low": iso(now - timedelta(hours=3)), "high": iso(now - timedelta(hours=2))}
    assert body["ttr"] == {"low": 3600, "high": 7200}
    assert body["first_notice_sent_at"] == iso(notice.sent_at)
    assert body["reports"] == 1


def test_url_detail_of_new_url_has_empty_parts(staff_api, now):
    url = _new_url("http://new.example/c.html", now)
    body = staff_api.get(f"/api/v1/urls/{url.pk}/").json()
    assert (body["assessment"], body["trace"], body["hops"], body["notices"], body["checks"]) == (
        None,
        None,
        [],
        [],
        [],
    )
    assert (body["provider"], body["country"], body["reports"]) == (None, "", 1)


@pytest.mark.parametrize("pk", ["999999", "0", "99999999999999999999999"])
def test_url_detail_unknown_id_is_404(staff_api, pk):
    response = staff_api.get(f"/api/v1/urls/{pk}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


# --- assess -------------------------------------------------------------------------------------------------


def test_url_assess_illegal_marks_assessed(staff_api, analyst, now):
    url = _new_url("http://new.example/c.html", now)
    body = {
        "legality": "illegal_international",
        "classification": "B1",
        "media_type": "image",
        "severity": 3,
        "legal_basis": "Art. 1",
        "notes": "checked twice",
    }
    response = staff_api.post(f"/api/v1/urls/{url.pk}/assess/", body, format="json")
    assert response.status_code == 201, response.content
    assessment = Assessment.objects.get()
    assert response.json() == {
        **body,
        "detection_method": "manual_review",
        "created_at": iso(assessment.created_at),
        **NOT_RECORDED,
    }
    url.refresh_from_db()
    assert url.status == "assessed"
    assert url.current_assessment == assessment
    assert url.assessed_at == assessment.created_at
    assert assessment.analyst == analyst
    event = Event.objects.get(kind="url.assessed")
    assert (event.url_id, event.actor, event.data) == (
        url.pk,
        "user:analyst",
        {"legality": "illegal_international", "classification": "B1"},
    )


def test_url_assess_not_illegal_closes(staff_api, now):
    url = _new_url("http://new.example/c.html", now)
    response = staff_api.post(f"/api/v1/urls/{url.pk}/assess/", {"legality": "not_illegal"}, format="json")
    assert response.status_code == 201
    url.refresh_from_db()
    assert url.status == "not_illegal"
    assert Assessment.objects.get().legality == "not_illegal"


def test_url_assess_again_replaces_current(staff_api, make_case, provider, now):
    case = make_case(provider=provider, when=now)
    response = staff_api.post(f"/api/v1/urls/{case.pk}/assess/", {"legality": "not_illegal"}, format="json")
    assert response.status_code == 201
    case.refresh_from_db()
    assert case.status == "not_illegal"
    assert case.current_assessment.legality == "not_illegal"
    assert Assessment.objects.filter(url=case).count() == 2


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"legality": "illegal_international"},
            {"classification": ["Required when the content is illegal."]},
        ),
        (
            {"legality": "illegal_national", "classification": ""},
            {"classification": ["Required when the content is illegal."]},
        ),
        ({}, {"legality": ["This field is required."]}),
        ({"legality": "maybe"}, {"legality": ['"maybe" is not a valid choice.']}),
        (
            {"legality": "illegal_international", "classification": "Z9"},
            {"classification": ['"Z9" is not a valid choice.']},
        ),
        (
            {"legality": "not_illegal", "detection_method": "guess"},
            {"detection_method": ['"guess" is not a valid choice.']},
        ),
        (
            {"legality": "not_illegal", "media_type": "hologram"},
            {"media_type": ['"hologram" is not a valid choice.']},
        ),
        (
            {"legality": "not_illegal", "severity": 6},
            {"severity": ["Ensure this value is less than or equal to 5."]},
        ),
        (
            {"legality": "not_illegal", "severity": 0},
            {"severity": ["Ensure this value is greater than or equal to 1."]},
        ),
        ({"legality": "not_illegal", "severity": "high"}, {"severity": ["A valid integer is required."]}),
        ({"legality": ["not_illegal"]}, {"legality": ["\"['not_illegal']\" is not a valid choice."]}),
    ],
)
def test_url_assess_invalid_is_400_and_writes_nothing(staff_api, now, body, errors):
    url = _new_url("http://new.example/c.html", now)
    response = staff_api.post(f"/api/v1/urls/{url.pk}/assess/", body, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert Assessment.objects.count() == 0
    url.refresh_from_db()
    assert (url.status, url.current_assessment) == ("new", None)


def test_url_assess_unknown_id_is_404(staff_api):
    response = staff_api.post("/api/v1/urls/999999/assess/", {"legality": "not_illegal"}, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert Assessment.objects.count() == 0


# --- trace --------------------------------------------------------------------------------------------------


def test_url_trace_is_queued_202(staff_api, now):
    url = _new_url("http://new.example/c.html", now)
    response = staff_api.post(f"/api/v1/urls/{url.pk}/trace/")
    assert response.status_code == 202
    assert response.json() == {"detail": "Trace queued.", "url": url.pk}


def test_url_trace_unknown_id_is_404(staff_api):
    response = staff_api.post("/api/v1/urls/999999/trace/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
