"""Request body parsers (notices/api/parsers.py), called directly."""

from __future__ import annotations

import io
import json

import pytest
from rest_framework.exceptions import ParseError

from notices.api.parsers import MAX_JSON_DEPTH, CsvParser, JsonParser, ReportJsonParser


def _json(text: str):
    return JsonParser().parse(
        io.BytesIO(text.encode("utf-8", "surrogatepass")), parser_context={"encoding": "utf-8"}
    )


def _csv(text: str):
    return CsvParser().parse(io.BytesIO(text.encode()))


def test_json_parser_depth_at_limit_parses():
    text = "[" * MAX_JSON_DEPTH + "1" + "]" * MAX_JSON_DEPTH
    assert _json(text) == json.loads(text)


def test_json_parser_depth_over_limit_is_parse_error():
    with pytest.raises(ParseError) as exc:
        _json('{"a": ' + "[" * MAX_JSON_DEPTH + "1" + "]" * MAX_JSON_DEPTH + "}")
    assert str(exc.value.detail) == f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels."


def test_json_parser_deeper_than_recursion_limit_is_parse_error():
    with pytest.raises(ParseError) as exc:
        _json("[" * 200_000 + "]" * 200_000)
    assert str(exc.value.detail) == f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels."


@pytest.mark.parametrize("text", ['"\\ud800"', '{"\\udc00": 1}', '[1, {"a": ["ok", "x\\udfffy"]}]'])
def test_json_parser_lone_surrogate_is_parse_error(text):
    with pytest.raises(ParseError) as exc:
        _json(text)
    assert str(exc.value.detail) == "JSON parse error - text contains a lone UTF-16 surrogate."


def test_report_json_parser_leaves_lone_surrogates_to_the_serializer():
    stream = io.BytesIO(b'[{"notes": "a\\ud800"}, {"url": "x"}]')
    assert ReportJsonParser().parse(stream, parser_context={"encoding": "utf-8"}) == [
        {"notes": "a\ud800"},
        {"url": "x"},
    ]
    with pytest.raises(ParseError):
        ReportJsonParser().parse(io.BytesIO(b"[" * 40 + b"]" * 40), parser_context={"encoding": "utf-8"})


def test_json_parser_keeps_real_unicode_and_nul():
    assert _json('{"a": "\\ud83d\\udca5 例え \\u0000"}') == {"a": "💥 例え \x00"}


def test_csv_parser_rows_drop_empty_cells():
    assert _csv('url,notes,external_ref\nhttp://a.example/,"x, y",\nhttp://b.example/,,r\n') == [
        {"url": "http://a.example/", "notes": "x, y"},
        {"url": "http://b.example/", "external_ref": "r"},
    ]


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("notes\nx\n", "CSV needs a header row with at least a 'url' column."),
        ("url,colour,size\nhttp://a.example/,r,s\n", "Unknown CSV column(s): colour, size."),
    ],
)
def test_csv_parser_bad_header_is_parse_error(text, detail):
    with pytest.raises(ParseError) as exc:
        _csv(text)
    assert str(exc.value.detail) == detail


def test_csv_parser_rows_carry_their_line_and_reading_errors():
    rows = CsvParser().parse(
        io.BytesIO(
            b'url,notes\r\rhttp://a.example/,"x\r\ny"\rhttp://b.ex\xffample/,n\rhttp://c.example/,"open\n'
        )
    )
    assert [(dict(row), row.line, row.errors) for row in rows] == [
        ({"url": "http://a.example/", "notes": "x\r\ny"}, 3, {}),
        ({}, 5, {"url": ["Not UTF-8 text."]}),
        ({}, 6, {"notes": ["A quoted field is not closed."]}),
    ]
