"""Property-based tests of bulk intake (POST /api/v1/reports/bulk/), JSON and CSV: for any generated batch —
valid URLs, invalid ones, odd strings, odd timestamps, CSV special characters — no 5xx, one result per row,
every recorded report says exactly what its row said, clean rows are never refused, and a refused request
(413) records nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notices.canonical import InvalidUrl, canonicalize
from notices.models import Report, Url

pytestmark = pytest.mark.django_db

BULK = "/api/v1/reports/bulk/"
MAX_ITEMS = 12
MAX_BYTES = 8000
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

VALID_URLS = st.builds(
    lambda base, path: base + path,
    st.sampled_from(
        [
            "http://files.polder.example/",
            "https://FILES.polder.example:443/",
            "files.polder.example/",
            "http://b\u00fccher.example/",
            "http://xn--bcher-kva.example/",
            "http://198.51.100.7:8080/",
            "http://[2001:db8::7]/",
            "http:\\\\files.polder.example\\",
            "http://files.polder.example\\x\\",
            "  http://cdn.balkan.test/",
            "http://demo.localhost/",
            "https://x.invalid/",
        ]
    ),
    st.text(st.characters(codec="ascii", categories=("L", "N"), include_characters="/._-%?=&"), max_size=30),
)
INVALID_URLS = st.sampled_from(
    [
        "hello",
        "http://hello/",
        "http://localhost/",
        "http:///files.polder.example/a",
        "ftp://files.polder.example/",
        "http://xn--.polder.example/",
        "http://-a.polder.example/",
        "http://a_b.example/",
        "javascript:alert(1)",
        "http://files.polder.example:0/",
        "",
        "   ",
        "http://files.polder.c/",
        "http://xn--wca.example/",
    ]
)
# Text with what CSV and PostgreSQL find special: delimiters, quotes, every line break, NUL, BOM, controls.
SPECIAL = st.sampled_from(
    [",", '"', '""', "\r", "\n", "\r\n", "\x00", "\ufeff", "\t", " ", "\\", "\u2028", "\x85"]
)
ODD_TEXT = st.lists(
    st.one_of(SPECIAL, st.text(st.characters(exclude_categories=("Cs",)), max_size=6)), max_size=6
).map("".join)
# JSON can carry what is not Unicode at all: lone UTF-16 surrogates.
SURROGATES = st.sampled_from(["\ud800", "a\udfffb", "http://files.polder.example/\udc00"])
DATES = st.datetimes(
    min_value=datetime(1985, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.sampled_from([UTC])
).map(lambda d: d.isoformat())
REPORTED_AT = st.one_of(
    st.none(),
    DATES,
    st.sampled_from(["yesterday", "1700-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-02-30"]),
)


def _row(url, reported_at, external_ref, notes) -> dict:
    row = {"url": url}
    for key, value in (("reported_at", reported_at), ("external_ref", external_ref), ("notes", notes)):
        if value is not None:
            row[key] = value
    return row


def _batches(odd):
    rows = st.builds(
        _row,
        st.one_of(VALID_URLS, INVALID_URLS, odd),
        REPORTED_AT,
        st.one_of(st.none(), odd, st.text(st.characters(exclude_categories=("Cs",)), max_size=205)),
        st.one_of(
            st.none(), odd, st.sampled_from(["x" * 10_001, "seen\nhttp://files.polder.example/2,again"])
        ),
    )
    return st.lists(rows, max_size=MAX_ITEMS + 3)


def _csv_cell(value: str) -> str:
    """Quote as RFC 4180 asks: a cell with a comma, a quote or any line break is quoted, quotes doubled."""
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _csv_body(rows: list[dict], newline: str) -> str:
    columns = ["url", "reported_at", "external_ref", "notes"]
    lines = [",".join(columns)] + [",".join(_csv_cell(row.get(c, "")) for c in columns) for row in rows]
    return "".join(line + newline for line in lines)


@pytest.fixture
def limits(settings):
    settings.API_BULK_MAX_ITEMS = MAX_ITEMS
    settings.API_BULK_MAX_BYTES = MAX_BYTES


def _parsed_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _clean(row: dict, *, csv_body: bool) -> bool:
    """True when the row must be accepted: a good URL, a possible time, plain text within the lengths."""
    if "url" not in row:
        return False
    try:
        canonicalize(row["url"])
    except InvalidUrl:
        return False
    when = _parsed_time(row.get("reported_at"))
    if "reported_at" in row and not (when and datetime(1990, 1, 1, tzinfo=UTC) <= when <= datetime.now(UTC)):
        return False
    ref, notes = row.get("external_ref", ""), row.get("notes", "")
    plain = all(
        "\x00" not in text and text.encode("utf-8", "replace").decode() == text
        for text in (row["url"], ref, notes)
    )
    one_line = not any(c in ref + (notes if csv_body else "") + row["url"] for c in "\r\n")
    return plain and one_line and len(ref) <= 200 and len(notes) <= 10_000 and (csv_body or row["url"] != "")


def _check_results(response, rows: list[dict], before: int, *, csv_body: bool, body_size: int) -> None:
    assert response.status_code < 500, response.content
    if len(rows) > MAX_ITEMS or body_size > MAX_BYTES:
        assert response.status_code == 413
        assert Report.objects.count() == before
        return
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["results"]) == len(rows)
    assert body["accepted"] + body["rejected"] == len(rows)
    assert Report.objects.count() == before + body["accepted"]
    for index, (row, result) in enumerate(zip(rows, body["results"], strict=True)):
        assert result["index"] == index
        if "errors" in result:
            assert result["errors"] and not _clean(row, csv_body=csv_body), (row, result)
            continue
        report = Report.objects.get(pk=result["id"])
        expected = canonicalize(row["url"]).canonical
        assert result["url"]["canonical"] == expected == Url.objects.get(pk=result["url"]["id"]).canonical
        assert report.original_url == row["url"]
        assert report.external_ref == row.get("external_ref", "")
        assert report.notes == row.get("notes", "")
        if row.get("reported_at"):
            assert report.reported_at == _parsed_time(row["reported_at"])
        else:
            assert report.reported_at == report.received_at


def _post_in_savepoint(client, data: bytes, content_type: str, check) -> None:
    """Each generated example runs in a transaction rolled back afterwards, so examples do not see each
    other's rows (the reports are still written and read back through the real database)."""
    with transaction.atomic():
        before = Report.objects.count()
        check(client.post(BULK, data, content_type=content_type), before)
        transaction.set_rollback(True)


@PROPERTY
@given(rows=_batches(st.one_of(ODD_TEXT, SURROGATES)))
def test_bulk_json_any_batch_records_exactly_its_valid_rows(partner_api, limits, rows):
    data = json.dumps(rows).encode()
    _post_in_savepoint(
        partner_api,
        data,
        "application/json",
        lambda response, before: _check_results(response, rows, before, csv_body=False, body_size=len(data)),
    )


@PROPERTY
@given(rows=_batches(ODD_TEXT), newline=st.sampled_from(["\r\n", "\n", "\r"]), bom=st.booleans())
def test_bulk_csv_any_batch_records_exactly_its_valid_rows(partner_api, limits, rows, newline, bom):
    rows = [
        {k: v for k, v in row.items() if v != ""} for row in rows
    ]  # CSV: an empty cell is a missing value
    data = ("\ufeff" if bom else "").encode() + _csv_body(rows, newline).encode()
    _post_in_savepoint(
        partner_api,
        data,
        "text/csv",
        lambda response, before: _check_results(response, rows, before, csv_body=True, body_size=len(data)),
    )


RAW_PIECES = st.sampled_from(
    [
        b",",
        b'"',
        b"\r",
        b"\n",
        b"\r\n",
        b"\x00",
        b"\xff",
        b"\xe9",
        b"\xef\xbb\xbf",
        b"http://files.polder.example/",
        b"hello",
        b"2026-01-01T00:00:00Z",
        b"x" * 200,
        b"\\",
        b" ",
        b'""',
        b"http:///x",
    ]
)
RAW_BODIES = st.builds(
    lambda header, pieces: header + b"".join(pieces),
    st.sampled_from([b"url\n", b"url,notes\r\n", b"url,reported_at,external_ref,notes\r", b"notes,url\n"]),
    st.lists(st.one_of(RAW_PIECES, st.binary(max_size=4)), max_size=40),
)


@PROPERTY
@given(data=RAW_BODIES)
def test_bulk_csv_hostile_bytes_never_5xx_and_record_only_real_urls(partner_api, limits, data):
    def check(response, before):
        assert response.status_code in (200, 400, 413), response.content
        if response.status_code != 200:
            assert Report.objects.count() == before
            return
        body = response.json()
        assert [r["index"] for r in body["results"]] == list(range(len(body["results"])))
        lines = [r["line"] for r in body["results"]]
        assert lines == sorted(set(lines)) and all(line >= 2 for line in lines)
        assert Report.objects.count() == before + body["accepted"]
        for result in body["results"]:
            if "id" in result:
                report = Report.objects.select_related("url").get(pk=result["id"])
                assert report.url.canonical == canonicalize(report.original_url).canonical
                assert "\r" not in report.original_url and "\n" not in report.original_url
                assert "\n" not in report.external_ref and '"' not in report.original_url

    _post_in_savepoint(partner_api, data, "text/csv", check)
