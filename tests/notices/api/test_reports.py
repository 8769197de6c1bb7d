"""Intake through the API: POST /api/v1/reports/ and /api/v1/reports/bulk/ (notices/api/views.py)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from notices.models import Event, Report, Url

pytestmark = pytest.mark.django_db

RECEIPT = re.compile(r"^rcpt_[A-Za-z0-9_-]{24}$")


def _post(client, body, path="/api/v1/reports/"):
    return client.post(path, body, format="json")


def _counts() -> tuple[int, int]:
    return Report.objects.count(), Url.objects.count()


# --- single report ------------------------------------------------------------------------------------------


def test_report_create_new_url_records_report(partner_api):
    body = {
        "url": "http://files.polder.example/a.html",
        "reported_at": "2026-01-02T03:04:05Z",
        "external_ref": "ticket-17",
        "notes": "seen on a forum",
        "hashes": [{"algorithm": "md5", "value": "0123456789abcdef0123456789ABCDEF"}],
    }
    response = _post(partner_api, body)
    assert response.status_code == 201, response.content
    result = response.json()
    url = Url.objects.get()
    report = Report.objects.get()
    assert result == {
        "id": report.pk,
        "receipt": report.receipt,
        "duplicate": False,
        "url": {"id": url.pk, "canonical": "http://files.polder.example/a.html", "status": "new"},
        "same_material_as": [],
    }
    assert RECEIPT.match(result["receipt"])
    assert report.partner == partner_api.key.partner
    assert report.submitted_by is None
    assert report.original_url == "http://files.polder.example/a.html"
    assert report.reported_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert (report.external_ref, report.notes, report.duplicate) == ("ticket-17", "seen on a forum", False)
    assert report.hashes == [{"algorithm": "md5", "value": "0123456789abcdef0123456789ABCDEF"}]
    assert url.first_reported_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert list(Event.objects.values_list("kind", "url_id")) == [("url.created", url.pk)]


def test_report_create_by_staff_key_records_submitting_user(staff_api, analyst):
    response = _post(staff_api, {"url": "http://files.polder.example/a.html"})
    assert response.status_code == 201
    report = Report.objects.get()
    assert (report.partner, report.submitted_by) == (None, analyst)
    assert report.reported_at == report.received_at


def test_report_create_known_url_is_duplicate_with_new_receipt(partner_api):
    first = _post(partner_api, {"url": "http://files.polder.example/a.html"}).json()
    second = _post(partner_api, {"url": "http://files.polder.example/a.html", "external_ref": "again"})
    assert second.status_code == 201
    again = second.json()
    assert again["duplicate"] is True
    assert again["url"] == first["url"]
    assert again["id"] != first["id"]
    assert again["receipt"] != first["receipt"]
    assert _counts() == (2, 1)
    assert list(Report.objects.order_by("pk").values_list("duplicate", "external_ref")) == [
        (False, ""),
        (True, "again"),
    ]
    assert Event.objects.filter(kind="url.created").count() == 1


def test_report_create_receipts_unique_over_many(partner_api):
    receipts = {
        _post(partner_api, {"url": f"http://files.polder.example/{i}"}).json()["receipt"] for i in range(20)
    }
    assert len(receipts) == 20
    assert Report.objects.values("receipt").distinct().count() == 20


def test_report_create_duplicate_keeps_url_status(partner_api, make_case, provider, now):
    case = make_case(provider=provider, when=now)
    response = _post(partner_api, {"url": case.canonical})
    assert response.status_code == 201
    assert response.json()["url"] == {"id": case.pk, "canonical": case.canonical, "status": "assessed"}
    assert response.json()["duplicate"] is True


SPELLINGS = [
    "http://files.polder.example/b.html",
    "HTTP://Files.Polder.EXAMPLE:80/a/../b.html#fragment",
    "http://files.polder.example/./b.html",
    "http://files.polder.example/%62.html",
    "files.polder.example/b.html",
    "  http://files.polder.example/b.html\n",
    "http://user:secret@files.polder.example/b.html",
]


def test_report_create_spellings_of_one_url_dedupe(partner_api):
    results = [_post(partner_api, {"url": spelling}) for spelling in SPELLINGS]
    assert [r.status_code for r in results] == [201] * len(SPELLINGS)
    bodies = [r.json() for r in results]
    assert {b["url"]["canonical"] for b in bodies} == {"http://files.polder.example/b.html"}
    assert len({b["url"]["id"] for b in bodies}) == 1
    assert [b["duplicate"] for b in bodies] == [False] + [True] * (len(SPELLINGS) - 1)
    assert _counts() == (len(SPELLINGS), 1)
    assert sorted(Report.objects.values_list("original_url", flat=True)) == sorted(SPELLINGS)


def test_report_create_distinct_query_and_port_are_distinct_urls(partner_api):
    urls = [
        "http://files.polder.example/b.html",
        "http://files.polder.example/b.html?id=1",
        "http://files.polder.example:8080/b.html",
        "https://files.polder.example/b.html",
    ]
    ids = {_post(partner_api, {"url": u}).json()["url"]["id"] for u in urls}
    assert len(ids) == 4
    assert _counts() == (4, 4)


def test_report_create_control_characters_in_path_are_escaped(partner_api):
    response = _post(partner_api, {"url": "http://files.polder.example/a\u0007b"})
    assert response.status_code == 201
    assert response.json()["url"]["canonical"] == "http://files.polder.example/a%07b"


TOO_LONG = "http://files.polder.example/" + "a" * 4100
FUTURE = (datetime.now(UTC) + timedelta(days=1)).isoformat()


def beyond_skew() -> str:
    """Six minutes ahead of the clock when the request is made (not when the module was collected)."""
    return (datetime.now(UTC) + timedelta(minutes=6)).isoformat()


TOO_EARLY = "reported_at lies before 1990-01-01, earlier than any report of a web page."
TOO_LATE = "reported_at lies more than 5 minutes in the future."
SURROGATE = "Text contains a lone UTF-16 surrogate, which is not Unicode."
NOT_FQDN = "host needs a dot and a top-level domain of letters (such as files.example.test), or an IP address"
INVALID_REPORTS = [
    ("missing url", {"notes": "x"}, {"url": ["This field is required."]}),
    ("url number", {"url": 123}, {"url": ["Not a valid string."]}),
    ("url float", {"url": 1.5}, {"url": ["Not a valid string."]}),
    ("url bool", {"url": True}, {"url": ["Not a valid string."]}),
    ("url list", {"url": ["http://files.polder.example/"]}, {"url": ["Not a valid string."]}),
    ("url object", {"url": {"href": "http://files.polder.example/"}}, {"url": ["Not a valid string."]}),
    ("url null", {"url": None}, {"url": ["This field may not be null."]}),
    ("url empty", {"url": ""}, {"url": ["This field may not be blank."]}),
    ("url blank", {"url": "   "}, {"url": ["URL is empty"]}),
    ("javascript", {"url": "javascript:alert(1)"}, {"url": ["only http and https URLs can be tracked"]}),
    ("ftp", {"url": "ftp://files.polder.example/a"}, {"url": ["only http and https URLs can be tracked"]}),
    ("data", {"url": "data:text/html,<b>x</b>"}, {"url": ["only http and https URLs can be tracked"]}),
    ("file", {"url": "file:///etc/passwd"}, {"url": ["only http and https URLs can be tracked"]}),
    ("no host", {"url": "http://"}, {"url": ["URL has no host"]}),
    ("no host with path", {"url": "http://:80/a"}, {"url": ["URL has no host"]}),
    (
        "bad host",
        {"url": "http://exa mple.test/"},
        {"url": ["host is not a valid domain name or IP address"]},
    ),
    (
        "bad port",
        {"url": "http://files.polder.example:99999/"},
        {"url": ["port must be a number from 1 to 65535"]},
    ),
    ("overlong", {"url": TOO_LONG}, {"url": ["Ensure this field has no more than 4096 characters."]}),
    (
        "control in host",
        {"url": "http://files.pol\u0007der.example/"},
        {"url": ["host is not a valid domain name or IP address"]},
    ),
    ("nul", {"url": "http://files.polder.example/a\u0000"}, {"url": ["Null characters are not allowed."]}),
    (
        "reported_at not iso",
        {"url": "http://files.polder.example/", "reported_at": "last Tuesday"},
        {
            "reported_at": [
                "Datetime has wrong format. Use one of these formats instead: "
                "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
            ]
        },
    ),
    (
        "reported_at number",
        {"url": "http://files.polder.example/", "reported_at": 1767225600},
        {
            "reported_at": [
                "Datetime has wrong format. Use one of these formats instead: "
                "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
            ]
        },
    ),
    (
        "reported_at future",
        {"url": "http://files.polder.example/", "reported_at": FUTURE},
        {"reported_at": [TOO_LATE]},
    ),
    (
        "reported_at beyond clock skew",
        {"url": "http://files.polder.example/", "reported_at": beyond_skew},
        {"reported_at": [TOO_LATE]},
    ),
    (
        "reported_at far future",
        {"url": "http://files.polder.example/", "reported_at": "9999-12-31T23:59:59Z"},
        {"reported_at": [TOO_LATE]},
    ),
    (
        "reported_at before the web",
        {"url": "http://files.polder.example/", "reported_at": "1989-12-31T23:59:59Z"},
        {"reported_at": [TOO_EARLY]},
    ),
    (
        "reported_at centuries ago",
        {"url": "http://files.polder.example/", "reported_at": "1700-01-01T00:00:00Z"},
        {"reported_at": [TOO_EARLY]},
    ),
    (
        "reported_at year one",
        {"url": "http://files.polder.example/", "reported_at": "0001-01-02T00:00:00Z"},
        {"reported_at": [TOO_EARLY]},
    ),
    ("bare word", {"url": "hello"}, {"url": [NOT_FQDN]}),
    ("single label", {"url": "http://localhost:8080/x"}, {"url": [NOT_FQDN]}),
    ("empty authority", {"url": "http:///files.polder.example/a"}, {"url": ["URL has no host"]}),
    (
        "bare xn--",
        {"url": "http://xn--.polder.example/"},
        {"url": ["host has an xn-- label that is not valid IDNA (punycode)"]},
    ),
    (
        "leading hyphen",
        {"url": "http://-files.polder.example/"},
        {"url": ["host is not a valid domain name or IP address"]},
    ),
    ("url lone surrogate", {"url": "http://files.polder.example/\ud800"}, {"url": [SURROGATE]}),
    (
        "notes lone surrogate",
        {"url": "http://files.polder.example/", "notes": "a\udfffb"},
        {"notes": [SURROGATE]},
    ),
    (
        "external_ref lone surrogate",
        {"url": "http://files.polder.example/", "external_ref": "\udc00"},
        {"external_ref": [SURROGATE]},
    ),
    (
        "hash algorithm lone surrogate",
        {"url": "http://files.polder.example/", "hashes": [{"algorithm": "\ud800", "value": "a" * 32}]},
        {"hashes": [SURROGATE]},
    ),
    (
        "reported_at out of range",
        {"url": "http://files.polder.example/", "reported_at": "0001-01-01T00:00:00+14:00"},
        {"reported_at": ["Datetime value out of range."]},
    ),
    (
        "hash unknown algorithm",
        {"url": "http://files.polder.example/", "hashes": [{"algorithm": "crc32", "value": "abcd"}]},
        {"hashes": {"0": {"algorithm": ['"crc32" is not a valid choice.']}}},
    ),
    (
        "md5 too short",
        {"url": "http://files.polder.example/", "hashes": [{"algorithm": "md5", "value": "abc123"}]},
        {"hashes": {"0": {"value": ["Not a valid md5 hex digest."]}}},
    ),
    (
        "md5 not hex",
        {"url": "http://files.polder.example/", "hashes": [{"algorithm": "md5", "value": "z" * 32}]},
        {"hashes": {"0": {"value": ["Not a valid md5 hex digest."]}}},
    ),
    (
        "sha256 wrong length",
        {"url": "http://files.polder.example/", "hashes": [{"algorithm": "sha256", "value": "a" * 63}]},
        {"hashes": {"0": {"value": ["Not a valid sha256 hex digest."]}}},
    ),
    (
        "second hash bad",
        {
            "url": "http://files.polder.example/",
            "hashes": [{"algorithm": "sha1", "value": "a" * 40}, {"algorithm": "md5"}],
        },
        {"hashes": {"1": {"value": ["This field is required."]}}},
    ),
    (
        "hashes not a list",
        {"url": "http://files.polder.example/", "hashes": {"algorithm": "md5", "value": "a" * 32}},
        {"hashes": {"non_field_errors": ['Expected a list of items but got type "dict".']}},
    ),
    (
        "external_ref too long",
        {"url": "http://files.polder.example/", "external_ref": "r" * 201},
        {"external_ref": ["Ensure this field has no more than 200 characters."]},
    ),
    (
        "array body",
        [{"url": "http://files.polder.example/"}],
        {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
    ),
    (
        "string body",
        "http://files.polder.example/",
        {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]},
    ),
    ("number body", 42, {"non_field_errors": ["Invalid data. Expected a dictionary, but got int."]}),
    ("null body", None, {"non_field_errors": ["No data provided"]}),
]


@pytest.mark.parametrize(("case", "body", "errors"), INVALID_REPORTS, ids=[c for c, _, _ in INVALID_REPORTS])
def test_report_create_invalid_input_is_400_and_writes_nothing(partner_api, case, body, errors):
    if isinstance(body, dict):
        body = {key: value() if callable(value) else value for key, value in body.items()}
    response = partner_api.post("/api/v1/reports/", json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert response.json() == errors
    assert _counts() == (0, 0)
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    ("accepted", "refused"),
    [
        ("1990-01-01T00:00:00Z", "1989-12-31T23:59:59.999999Z"),
        ("1990-01-01T01:00:00+01:00", "1990-01-01T00:59:59+01:00"),
    ],
    ids=["earliest", "earliest in +01:00"],
)
def test_report_create_reported_at_bounds(partner_api, accepted, refused):
    url = "http://files.polder.example/a.html"
    assert _post(partner_api, {"url": url, "reported_at": refused}).status_code == 400
    response = _post(partner_api, {"url": url, "reported_at": accepted})
    assert response.status_code == 201, response.content
    assert Report.objects.get().reported_at == datetime.fromisoformat(accepted.replace("Z", "+00:00"))


def test_report_create_text_stored_as_given(partner_api):
    body = {
        "url": "http://files.polder.example/a.html",
        "external_ref": " ref 7 ",
        "notes": "  line 1\r\n\tline 2\n",
    }
    assert _post(partner_api, body).status_code == 201
    report = Report.objects.get()
    assert (report.external_ref, report.notes) == (" ref 7 ", "  line 1\r\n\tline 2\n")


def test_report_create_malformed_json_is_400_detail(partner_api):
    response = partner_api.post(
        "/api/v1/reports/", '{"url": "http://files.polder.example/",', content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["detail"]
    assert body["detail"].startswith("JSON parse error - ")
    assert _counts() == (0, 0)


def test_report_create_non_utf8_json_is_400_detail(partner_api):
    response = partner_api.post(
        "/api/v1/reports/", b'{"url": "http://\xff.example/"}', content_type="application/json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["detail"]
    assert _counts() == (0, 0)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded", "text/csv"]
)
def test_report_create_wrong_content_type_is_415(partner_api, content_type):
    response = partner_api.post(
        "/api/v1/reports/", "url=http://files.polder.example/", content_type=content_type
    )
    assert response.status_code == 415
    assert response.json() == {"detail": f'Unsupported media type "{content_type}" in request.'}
    assert _counts() == (0, 0)


def test_report_create_get_is_405(partner_api):
    response = partner_api.get("/api/v1/reports/")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "GET" not allowed.'}


# --- bulk ---------------------------------------------------------------------------------------------------


def test_report_bulk_mixed_items_records_valid_only(partner_api):
    rows = [
        {"url": "http://files.polder.example/1"},
        {"url": "javascript:alert(1)"},
        {"url": "http://files.polder.example/2", "external_ref": "r2"},
        {"notes": "no url"},
        "http://files.polder.example/3",
        {"url": "HTTP://FILES.polder.example/1"},
        {"url": "http://files.polder.example/4", "reported_at": FUTURE},
    ]
    response = _post(partner_api, rows, path="/api/v1/reports/bulk/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (3, 4)
    results = body["results"]
    assert [r["index"] for r in results] == list(range(7))
    assert results[1] == {"index": 1, "errors": {"url": ["only http and https URLs can be tracked"]}}
    assert results[3] == {"index": 3, "errors": {"url": ["This field is required."]}}
    assert results[4] == {
        "index": 4,
        "errors": {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]},
    }
    assert results[6] == {"index": 6, "errors": {"reported_at": [TOO_LATE]}}
    ok = [results[0], results[2], results[5]]
    assert [r["duplicate"] for r in ok] == [False, False, True]
    assert results[5]["url"] == results[0]["url"]
    assert [r["url"]["canonical"] for r in ok] == [
        "http://files.polder.example/1",
        "http://files.polder.example/2",
        "http://files.polder.example/1",
    ]
    assert sorted(r["id"] for r in ok) == sorted(Report.objects.values_list("pk", flat=True))
    assert {r["receipt"] for r in ok} == set(Report.objects.values_list("receipt", flat=True))
    assert _counts() == (3, 2)
    assert Report.objects.get(pk=results[2]["id"]).external_ref == "r2"


def test_report_bulk_unstorable_text_fails_only_its_item(partner_api):
    body = (
        '[{"url": "http://files.polder.example/1"},'
        ' {"url": "http://files.polder.example/2", "notes": "bad \\ud800 text"},'
        ' {"url": "http://files.polder.example/3\\udc00"},'
        ' {"url": "http://files.polder.example/4", "external_ref": "nul \\u0000"},'
        ' {"url": "http://files.polder.example/5", "notes": "fine \\ud83d\\udca5"}]'
    )
    response = partner_api.post("/api/v1/reports/bulk/", body, content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 3)
    assert body["results"][1] == {"index": 1, "errors": {"notes": [SURROGATE]}}
    assert body["results"][2] == {"index": 2, "errors": {"url": [SURROGATE]}}
    assert body["results"][3] == {
        "index": 3,
        "errors": {"external_ref": ["Null characters are not allowed."]},
    }
    assert sorted(Report.objects.values_list("original_url", "notes")) == [
        ("http://files.polder.example/1", ""),
        ("http://files.polder.example/5", "fine \U0001f4a5"),
    ]


def test_report_bulk_all_invalid_writes_nothing(partner_api):
    response = _post(partner_api, [{"url": 1}, {"url": "ftp://x.example/"}], path="/api/v1/reports/bulk/")
    assert response.status_code == 200
    assert response.json() == {
        "accepted": 0,
        "rejected": 2,
        "results": [
            {"index": 0, "errors": {"url": ["Not a valid string."]}},
            {"index": 1, "errors": {"url": ["only http and https URLs can be tracked"]}},
        ],
    }
    assert _counts() == (0, 0)


def test_report_bulk_empty_array_accepts_nothing(partner_api):
    response = _post(partner_api, [], path="/api/v1/reports/bulk/")
    assert response.status_code == 200
    assert response.json() == {"accepted": 0, "rejected": 0, "results": []}


def test_report_bulk_csv_records_rows(partner_api):
    csv_body = (
        "url,reported_at,external_ref,notes\r\n"
        "http://files.polder.example/1,2026-01-02T03:04:05Z,r1,first\r\n"
        "http://files.polder.example/2,,,\r\n"
        '"http://files.polder.example/3?a=1,2",,r3,"quoted, with comma"\r\n'
        "gopher://files.polder.example/4,,,\r\n"
    )
    response = partner_api.post("/api/v1/reports/bulk/", csv_body, content_type="text/csv")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (3, 1)
    assert body["results"][3] == {
        "index": 3,
        "line": 5,
        "errors": {"url": ["only http and https URLs can be tracked"]},
    }
    assert [r["line"] for r in body["results"]] == [2, 3, 4, 5]
    assert [r["url"]["canonical"] for r in body["results"][:3]] == [
        "http://files.polder.example/1",
        "http://files.polder.example/2",
        "http://files.polder.example/3?a=1,2",
    ]
    reports = {r.original_url: r for r in Report.objects.all()}
    first = reports["http://files.polder.example/1"]
    assert (first.reported_at, first.external_ref, first.notes) == (
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "r1",
        "first",
    )
    assert reports["http://files.polder.example/3?a=1,2"].notes == "quoted, with comma"
    assert reports["http://files.polder.example/2"].external_ref == ""
    assert _counts() == (3, 3)


def test_report_bulk_csv_with_bom_and_url_only(partner_api):
    response = partner_api.post(
        "/api/v1/reports/bulk/",
        "\ufeffurl\nhttp://files.polder.example/1\n".encode(),
        content_type="text/csv",
    )
    assert response.status_code == 200
    assert response.json()["accepted"] == 1


@pytest.mark.parametrize(
    ("csv_body", "detail"),
    [
        (
            "link,notes\nhttp://files.polder.example/1,x\n",
            "CSV needs a header row with at least a 'url' column.",
        ),
        ("", "Expected a JSON array of reports."),  # an empty body is no body at all
        ("url,colour\nhttp://files.polder.example/1,red\n", "Unknown CSV column(s): colour."),
    ],
    ids=["no url column", "empty", "unknown column"],
)
def test_report_bulk_csv_bad_header_is_400(partner_api, csv_body, detail):
    response = partner_api.post("/api/v1/reports/bulk/", csv_body, content_type="text/csv")
    assert response.status_code == 400
    assert response.json() == {"detail": detail}
    assert _counts() == (0, 0)


def test_report_bulk_csv_header_not_utf8_is_400(partner_api):
    response = partner_api.post(
        "/api/v1/reports/bulk/", b"url,n\xf6tes\nhttp://files.polder.example/\n", content_type="text/csv"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "CSV header row is not UTF-8."}
    assert _counts() == (0, 0)


def test_report_bulk_too_many_items_is_413(partner_api, settings):
    settings.API_BULK_MAX_ITEMS = 3
    rows = [{"url": f"http://files.polder.example/{i}"} for i in range(4)]
    response = _post(partner_api, rows, path="/api/v1/reports/bulk/")
    assert response.status_code == 413
    assert response.json() == {"detail": "At most 3 reports per request; got 4."}
    assert _counts() == (0, 0)


def test_report_bulk_item_limit_allows_exactly_max(partner_api, settings):
    settings.API_BULK_MAX_ITEMS = 3
    rows = [{"url": f"http://files.polder.example/{i}"} for i in range(3)]
    response = _post(partner_api, rows, path="/api/v1/reports/bulk/")
    assert response.status_code == 200
    assert _counts() == (3, 3)


def test_report_bulk_csv_too_many_rows_is_413(partner_api, settings):
    settings.API_BULK_MAX_ITEMS = 2
    csv_body = "url\n" + "".join(f"http://files.polder.example/{i}\n" for i in range(3))
    response = partner_api.post("/api/v1/reports/bulk/", csv_body, content_type="text/csv")
    assert response.status_code == 413
    assert response.json() == {"detail": "At most 2 reports per request; got 3."}
    assert _counts() == (0, 0)


@pytest.mark.parametrize("content_type", ["application/json", "text/csv"])
def test_report_bulk_body_too_large_is_413(partner_api, settings, content_type):
    settings.API_BULK_MAX_BYTES = 2048
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    rows = [{"url": f"http://files.polder.example/{i:04d}"} for i in range(100)]
    if content_type == "text/csv":
        body = "url\n" + "".join(r["url"] + "\n" for r in rows)
    else:
        body = json.dumps(rows)
    assert len(body) > 2048
    response = partner_api.post("/api/v1/reports/bulk/", body, content_type=content_type)
    assert response.status_code == 413
    assert response.json() == {"detail": "Body larger than 2048 bytes; split the batch."}
    assert _counts() == (0, 0)


def test_report_bulk_body_under_byte_limit_accepted(partner_api, settings):
    settings.API_BULK_MAX_BYTES = 2048
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    body = json.dumps([{"url": "http://files.polder.example/1"}])
    response = partner_api.post("/api/v1/reports/bulk/", body, content_type="application/json")
    assert response.status_code == 200
    assert _counts() == (1, 1)


@pytest.mark.parametrize(
    "body",
    [{"url": "http://files.polder.example/1"}, "http://files.polder.example/1", 7, None],
    ids=["object", "string", "number", "null"],
)
def test_report_bulk_non_array_json_is_400(partner_api, body):
    response = partner_api.post("/api/v1/reports/bulk/", json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "Expected a JSON array of reports."}
    assert _counts() == (0, 0)


def test_report_bulk_malformed_json_is_400_detail(partner_api):
    response = partner_api.post("/api/v1/reports/bulk/", "[{", content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()) == ["detail"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml"])
def test_report_bulk_wrong_content_type_is_415(partner_api, content_type):
    response = partner_api.post(
        "/api/v1/reports/bulk/", "url\nhttp://files.polder.example/1\n", content_type=content_type
    )
    assert response.status_code == 415
    assert response.json() == {"detail": f'Unsupported media type "{content_type}" in request.'}
    assert _counts() == (0, 0)


def test_report_bulk_malformed_content_length_is_not_500(partner_api):
    response = partner_api.post(
        "/api/v1/reports/bulk/", "[]", content_type="application/json", CONTENT_LENGTH="two"
    )
    assert response.status_code == 400  # read as no body, as Django does
    assert response.json() == {"detail": "Expected a JSON array of reports."}


# --- defanged URLs ------------------------------------------------------------------------------------------

DEFANGED = [
    ("hxxps://files[.]polder[.]example/a.jpg", "https://files.polder.example/a.jpg"),
    ("hxxp[:]//files.polder.example/b.jpg", "http://files.polder.example/b.jpg"),
    ("http://files[.]polder.example/c.jpg", "http://files.polder.example/c.jpg"),
]


def _defanged_error(refanged: str) -> str:
    return (
        "This URL looks defanged (hxxp, [.] or [:] written in place of http, a dot or a colon), so it cannot "
        f"be tracked as it is. Submit it refanged: {refanged}"
    )


@pytest.mark.parametrize(("defanged", "refanged"), DEFANGED)
def test_report_create_defanged_url_is_a_field_error_naming_the_refanged_form(
    partner_api, defanged, refanged
):
    response = _post(partner_api, {"url": defanged})
    assert response.status_code == 400
    assert response.json() == {"url": [_defanged_error(refanged)]}
    assert _counts() == (0, 0)
    # The form the error names is accepted.
    assert _post(partner_api, {"url": refanged}).status_code == 201


def test_report_bulk_defanged_urls_fail_alone_with_the_refanged_form(partner_api):
    body = [{"url": "http://files.polder.example/ok.jpg"}, *({"url": d} for d, _ in DEFANGED)]
    response = _post(partner_api, body, path="/api/v1/reports/bulk/")
    assert response.status_code == 200
    answer = response.json()
    assert (answer["accepted"], answer["rejected"]) == (1, 3)
    assert [r["errors"] for r in answer["results"][1:]] == [
        {"url": [_defanged_error(r)]} for _, r in DEFANGED
    ]
    assert _counts() == (1, 1)


def test_report_create_url_that_is_not_a_url_even_refanged_keeps_the_plain_message(partner_api):
    response = _post(partner_api, {"url": "hxxp://not a url"})
    assert response.status_code == 400
    assert "defanged" not in response.json()["url"][0]


# --- bulk requests judged and written in chunks -------------------------------------------------------------

HASH = {"algorithm": "md5", "value": "0123456789abcdef0123456789abcdef"}


def test_report_bulk_in_chunks_answers_as_one_batch(partner_api, monkeypatch):
    """Written chunk by chunk in one transaction, a request still answers as one batch: duplicates across
    chunks, hash values matching a case a later chunk made, errors at their index."""
    from notices.api import views

    monkeypatch.setattr(views, "BULK_CHUNK", 3)
    body = [
        {"url": "http://a.polder.example/", "hashes": [HASH]},
        {"url": "not a url"},
        {"url": "HTTP://A.polder.example:80/"},
        {"url": "http://b.polder.example/"},
        {"url": "http://c.polder.example/", "hashes": [{**HASH, "value": HASH["value"].upper()}]},
        {"url": "hxxp://d[.]polder[.]example/"},
        {"url": "http://b.polder.example/#again"},
        {"url": "http://e.polder.example/"},
    ]
    response = _post(partner_api, body, path="/api/v1/reports/bulk/")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["accepted"], answer["rejected"]) == (6, 2)
    results = answer["results"]
    assert [r["index"] for r in results] == list(range(8))
    assert [r.get("duplicate") for r in results] == [False, None, True, False, False, None, True, False]
    assert list(results[1]["errors"]) == list(results[5]["errors"]) == ["url"]
    a, c = results[0]["url"]["id"], results[4]["url"]["id"]
    assert results[0]["same_material_as"] == [c]  # c was made by a later chunk
    assert results[4]["same_material_as"] == [a]
    assert [r["same_material_as"] for r in results if "id" in r and r["index"] not in (0, 4)] == [[]] * 4
    assert _counts() == (6, 4)


def test_report_bulk_in_chunks_gives_the_same_errors_in_the_requests_language(partner_api, monkeypatch):
    from notices.api import views

    body = [{"url": 12}, {"notes": "no url"}, {"url": "http://f.polder.example/", "reported_at": "soon"}] * 2
    answers = []
    for chunk in (2, 10_000):
        monkeypatch.setattr(views, "BULK_CHUNK", chunk)
        response = partner_api.post("/api/v1/reports/bulk/", body, format="json", HTTP_ACCEPT_LANGUAGE="de")
        assert response.status_code == 200
        answers.append(response.json())
    assert answers[0] == answers[1]
    assert answers[0]["rejected"] == 6 and _counts() == (0, 0)
    assert answers[0]["results"][1]["errors"] == {"url": ["Dieses Feld ist erforderlich."]}
