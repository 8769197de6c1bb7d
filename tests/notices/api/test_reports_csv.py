"""CSV bulk intake (POST /api/v1/reports/bulk/ with text/csv): line-ending dialects, encodings, very large
fields and quoting mistakes give per-row results, never a 500, and never merge one row into another."""

from __future__ import annotations

import pytest

from notices.models import Report, Url

pytestmark = pytest.mark.django_db

BULK = "/api/v1/reports/bulk/"
U1, U2, U3 = (f"http://files.polder.example/{i}" for i in (1, 2, 3))


def _post_csv(client, body: str | bytes):
    data = body.encode() if isinstance(body, str) else body
    return client.post(BULK, data, content_type="text/csv")


def _ok(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()


def _stored() -> list[tuple[str, str, str]]:
    return sorted(Report.objects.values_list("original_url", "external_ref", "notes"))


@pytest.mark.parametrize(
    "newline",
    ["\r", "\n", "\r\n", "MIXED"],
    ids=["cr", "lf", "crlf", "mixed"],
)
def test_csv_any_line_ending_dialect_reads_every_row(partner_api, newline):
    lines = ["url,external_ref", f"{U1},r1", f"{U2},r2", f"{U3},r3"]
    if newline == "MIXED":
        body = lines[0] + "\r\n" + lines[1] + "\n" + lines[2] + "\r" + lines[3] + "\r\n"
    else:
        body = newline.join(lines) + newline
    body = _ok(_post_csv(partner_api, body))
    assert (body["accepted"], body["rejected"]) == (3, 0)
    assert [(r["index"], r["line"]) for r in body["results"]] == [(0, 2), (1, 3), (2, 4)]
    assert _stored() == [(U1, "r1", ""), (U2, "r2", ""), (U3, "r3", "")]


def test_csv_bom_and_cr_only_line_endings(partner_api):
    body = _ok(_post_csv(partner_api, "\ufeffurl,notes\r" + f"{U1},a\r{U2},b"))
    assert body["accepted"] == 2
    assert _stored() == [(U1, "", "a"), (U2, "", "b")]


def test_csv_blank_lines_are_skipped_and_lines_counted(partner_api):
    body = _ok(_post_csv(partner_api, f"url\n\n{U1}\r\n\r\n\n{U2}\n\n"))
    assert [(r["index"], r["line"]) for r in body["results"]] == [(0, 3), (1, 6)]


def test_csv_non_utf8_bytes_fail_only_their_row(partner_api):
    data = (
        b"url,notes\n" + U1.encode() + b",caf\xe9\n" + b"http://caf\xe9.example/,x\n" + U2.encode() + b",ok\n"
    )
    body = _ok(_post_csv(partner_api, data))
    assert (body["accepted"], body["rejected"]) == (1, 2)
    assert body["results"][0] == {"index": 0, "line": 2, "errors": {"notes": ["Not UTF-8 text."]}}
    assert body["results"][1] == {"index": 1, "line": 3, "errors": {"url": ["Not UTF-8 text."]}}
    assert _stored() == [(U2, "", "ok")]


def test_csv_nul_bytes_fail_only_their_row(partner_api):
    body = _ok(_post_csv(partner_api, f"url,notes\n{U1}\x00,a\n{U2},b\x00c\n{U3},fine\n"))
    assert (body["accepted"], body["rejected"]) == (1, 2)
    assert body["results"][:2] == [
        {"index": 0, "line": 2, "errors": {"url": ["Null characters are not allowed."]}},
        {"index": 1, "line": 3, "errors": {"notes": ["Null characters are not allowed."]}},
    ]
    assert _stored() == [(U3, "", "fine")]


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
def test_csv_very_large_field_fails_only_its_row(partner_api, quoted):
    huge = "x" * 300_000
    cell = f'"{huge}"' if quoted else huge
    body = _ok(_post_csv(partner_api, f"url,notes\n{U1},{cell}\n{U2},ok\n"))
    assert (body["accepted"], body["rejected"]) == (1, 1)
    assert body["results"][0] == {
        "index": 0,
        "line": 2,
        "errors": {"notes": ["Ensure this field has no more than 10000 characters."]},
    }
    assert _stored() == [(U2, "", "ok")]


def test_csv_very_large_header_field_is_400_not_500(partner_api):
    response = _post_csv(partner_api, "url," + "x" * 300_000 + f"\n{U1},a\n")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Unknown CSV column(s): xxx")
    assert Url.objects.count() == 0


def test_csv_header_with_cr_line_ending_and_quoting_error_is_400(partner_api):
    response = _post_csv(partner_api, f'url,"notes\r{U1},a\r')
    assert response.status_code == 400
    assert response.json() == {"detail": "CSV header row: a quoted field is not closed."}


def test_csv_unbalanced_quote_does_not_swallow_the_next_rows(partner_api):
    body = _ok(_post_csv(partner_api, f'url,notes\n{U1},"oops\n{U2},fine\n{U3},also fine\n'))
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert body["results"][0] == {
        "index": 0,
        "line": 2,
        "errors": {"notes": ["A quoted field is not closed."]},
    }
    assert [(r["index"], r["line"], r["url"]["canonical"]) for r in body["results"][1:]] == [
        (1, 3, U2),
        (2, 4, U3),
    ]
    assert _stored() == [(U2, "", "fine"), (U3, "", "also fine")]


def test_csv_quote_closed_rows_later_is_flagged_not_merged(partner_api):
    """The quote opened in row 1 is closed at the end of row 3: one well-formed record, but its notes hold
    what are plainly rows. It is refused whole (nothing inside quotes is read as a row) and says where."""
    body = _ok(_post_csv(partner_api, f'url,notes\n{U1},"oops\n{U2},fine\n{U3}"\n{U1}/after,ok\n'))
    assert body["results"] == [
        {
            "index": 0,
            "line": 2,
            "errors": {
                "notes": ["Line 3 inside this quoted field looks like another row; a quote is missing."]
            },
        },
        body["results"][1],
    ]
    assert (body["results"][1]["line"], body["results"][1]["url"]["canonical"]) == (5, U1 + "/after")
    assert _stored() == [(U1 + "/after", "", "ok")]


def test_csv_text_after_a_closing_quote_refuses_the_whole_record(partner_api):
    """A stray word after the quote that closes multi-line notes: the quotes are balanced, so the record ends
    where they say — the row-like line inside them is never read as a case of its own."""
    body = _ok(_post_csv(partner_api, f'url,notes\n{U1},"note\n{U2},inner\nend" x\n{U3},after\n'))
    assert [r.get("line") for r in body["results"]] == [2, 5]
    assert "errors" in body["results"][0]
    assert body["results"][1]["url"]["canonical"] == U3
    assert _stored() == [(U3, "", "after")]


def test_csv_row_like_line_reports_its_own_line_number(partner_api):
    body = _ok(_post_csv(partner_api, f'url,external_ref,notes\n{U1},r,"a\nb\n{U2},x"\n'))
    assert body["results"][0]["errors"] == {
        "notes": ["Line 4 inside this quoted field looks like another row; a quote is missing."]
    }


def test_csv_line_break_in_url_field_is_flagged(partner_api):
    body = _ok(_post_csv(partner_api, f'url,notes\n"{U1}\n{U2}",x\n{U3},ok\n'))
    assert body["results"] == [
        {"index": 0, "line": 2, "errors": {"url": ["A line break inside this field."]}},
        body["results"][1],
    ]
    assert body["results"][1]["url"]["canonical"] == U3
    assert _stored() == [(U3, "", "ok")]


@pytest.mark.parametrize("column", ["external_ref", "reported_at"])
def test_csv_line_break_in_single_line_columns_is_flagged(partner_api, column):
    body = _ok(_post_csv(partner_api, f'url,{column}\n{U1},"a\nb"\n{U2},\n'))
    assert body["results"][0]["errors"] == {column: ["A line break inside this field."]}
    assert body["results"][-1]["url"]["canonical"] == U2


def test_csv_multi_line_notes_are_kept(partner_api):
    notes = 'first line\r\nsecond, with comma and "quotes"\nthird: see files.polder.example/1'
    quoted = notes.replace('"', '""')
    body = _ok(_post_csv(partner_api, f'url,notes\r\n{U1},"{quoted}"\r\n{U2},x\r\n'))
    assert (body["accepted"], body["rejected"]) == (2, 0)
    assert [r["line"] for r in body["results"]] == [2, 5]
    assert _stored() == [(U1, "", notes), (U2, "", "x")]


@pytest.mark.parametrize(
    ("row", "errors"),
    [
        (f"{U1},a,b", {"non_field_errors": ["The row has 3 fields; the header has 2 columns."]}),
        (f'{U1},"a"b', {"notes": ["A closing quote must be followed by a comma or the end of the line."]}),
        (
            f'{U1},a"b',
            {"notes": ['A quote inside an unquoted field; quote the whole field and double the quote ("").']},
        ),
        (
            f'{U1}",a',
            {"url": ['A quote inside an unquoted field; quote the whole field and double the quote ("").']},
        ),
    ],
    ids=["too many fields", "text after closing quote", "quote in unquoted notes", "quote in unquoted url"],
)
def test_csv_malformed_row_fails_alone(partner_api, row, errors):
    body = _ok(_post_csv(partner_api, f"url,notes\n{U2},before\n{row}\n{U3},after\n"))
    assert body["results"][1] == {"index": 1, "line": 3, "errors": errors}
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert _stored() == [(U2, "", "before"), (U3, "", "after")]


def test_csv_short_row_leaves_missing_columns_empty(partner_api):
    body = _ok(_post_csv(partner_api, f"url,external_ref,notes\n{U1}\n{U2},r\n"))
    assert [(r["line"], r["url"]["canonical"]) for r in body["results"]] == [(2, U1), (3, U2)]
    assert _stored() == [(U1, "", ""), (U2, "r", "")]


def test_csv_text_stored_as_given(partner_api):
    body = _ok(_post_csv(partner_api, f'url,external_ref,notes\n{U1}, r1 ,"  two\n  lines "\n'))
    assert body["accepted"] == 1
    assert _stored() == [(U1, " r1 ", "  two\n  lines ")]


def test_csv_invalid_values_get_field_errors_with_line(partner_api):
    body = _ok(
        _post_csv(partner_api, f"url,reported_at\nhello,\nhttp:///x,\n{U1},1989-01-01T00:00:00Z\n{U2},\n")
    )
    assert body["results"][:3] == [
        {
            "index": 0,
            "line": 2,
            "errors": {
                "url": [
                    "host needs a dot and a top-level domain of letters (such as files.example.test), or an "
                    "IP address"
                ]
            },
        },
        {"index": 1, "line": 3, "errors": {"url": ["URL has no host"]}},
        {
            "index": 2,
            "line": 4,
            "errors": {
                "reported_at": ["reported_at lies before 1990-01-01, earlier than any report of a web page."]
            },
        },
    ]
    assert body["results"][3]["url"]["canonical"] == U2


@pytest.mark.parametrize(
    ("csv_body", "detail"),
    [
        ("url,url\nhttp://files.polder.example/1,x\n", "Duplicate CSV column(s): url."),
        (" url , notes \n", None),
        ("url,\nhttp://files.polder.example/1,\n", "CSV header row has an empty column name."),
    ],
    ids=["duplicate", "spaces around names", "empty name"],
)
def test_csv_header_rules(partner_api, csv_body, detail):
    response = _post_csv(partner_api, csv_body)
    if detail is None:
        assert _ok(response) == {"accepted": 0, "rejected": 0, "results": []}
    else:
        assert response.status_code == 400
        assert response.json() == {"detail": detail}
