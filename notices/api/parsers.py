"""Request body parsers: JSON that cannot crash the views, and CSV for bulk intake (`text/csv`)."""

from __future__ import annotations

import re

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser

from notices.canonical import InvalidUrl, canonicalize

CSV_COLUMNS = ("url", "reported_at", "external_ref", "notes")
MAX_JSON_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonParser(JSONParser):
    """DRF's JSON parser, refusing what valid JSON text can carry but nothing downstream can handle: nesting
    deeper than any request needs (it crashes the decoder, error messages and the database encoder) and lone
    UTF-16 surrogates (`"\\ud800"`: not Unicode, so neither UTF-8 output nor PostgreSQL can hold them). Both
    would be 500s; they are 400s here, before any serializer sees them."""

    refuse_surrogates = True

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            problem = f"nested deeper than {MAX_JSON_DEPTH} levels"
        else:
            problem = _problem(data, self.refuse_surrogates)
        if problem:
            raise ParseError(f"JSON parse error - {problem}.")
        return data


class ReportJsonParser(JsonParser):
    """The intake endpoints' JSON parser: lone surrogates pass, because the report serializer refuses them as
    a field error on the field that holds one, so that one such item in a bulk batch fails alone."""

    refuse_surrogates = False


def _problem(data, refuse_surrogates: bool) -> str | None:
    """What makes parsed JSON unusable, or None. Iterative, so that it cannot recurse too deeply itself."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if refuse_surrogates and isinstance(value, str) and _SURROGATE.search(value):
            return "text contains a lone UTF-16 surrogate"
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                return f"nested deeper than {MAX_JSON_DEPTH} levels"
            children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            # Only what can hold a problem is looked at again (a bulk batch is mostly plain strings).
            kinds = (dict, list, str) if refuse_surrogates else (dict, list)
            stack.extend((child, depth + 1) for child in children if isinstance(child, kinds))
    return None


class CsvRow(dict):
    """One CSV data row: its cells by column (empty cells left out), the `line` it starts on (the header is
    line 1), and the `errors` found while reading it, by column (`non_field_errors` for the row)."""

    def __init__(self, cells: dict[str, str], *, line: int, errors: dict[str, list[str]] | None = None):
        super().__init__(cells)
        self.line = line
        self.errors = errors or {}


class CsvParser(BaseParser):
    """RFC 4180 CSV with a header row, read so that no row can break or swallow another.

    Any line ending (CRLF, LF, CR, mixed), a leading BOM, any field size. Bytes that are not UTF-8 fail the
    row (the field) they are in. Quoting is strict: a quote opens a field only at its start, and a closing
    quote is followed by a comma or the end of the line. A row with a quote that is never closed is reported
    as its first line only, and reading goes on at the next line, so it costs one row and swallows none; a
    row with another quoting error is refused whole (its quotes say where it ends). A well-formed row whose
    quoted field spans lines where no row may — a line break in url, reported_at or external_ref, or a line
    inside quoted notes that reads as a row of its own (its url column holds a URL) — is refused whole: a
    quote was closed in the wrong place, and no text from inside quotes is ever read as a row.
    """

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None) -> list[CsvRow]:
        text = stream.read().decode("utf-8-sig", "surrogateescape")
        return _CsvReader(text).rows()


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_UNQUOTED = re.compile(r"[^,\r\n]*")
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # what surrogateescape made of bytes that are not UTF-8
_SINGLE_LINE = ("url", "reported_at", "external_ref")
_NOT_CLOSED = "A quoted field is not closed."
_AFTER_QUOTE = "A closing quote must be followed by a comma or the end of the line."
_STRAY_QUOTE = 'A quote inside an unquoted field; quote the whole field and double the quote ("").'
_LINE_BREAK_IN_FIELD = "A line break inside this field."
_NOT_UTF8 = "Not UTF-8 text."


class _Record:
    __slots__ = ("end", "fields", "multi_line", "problem", "starts")

    def __init__(self):
        self.fields: list[str] = []
        self.starts: list[int] = []  # per field: where it starts in the text
        self.multi_line: list[bool] = []  # per field: a quoted field that spans lines
        self.problem: tuple[int, str] | None = None  # (field position, message)
        self.end = 0


def _read_record(text: str, pos: int) -> _Record:
    """Read one record from `pos`; `end` is where the next one starts (after its line break)."""
    record, size = _Record(), len(text)
    while True:
        record.starts.append(pos)
        if pos < size and text[pos] == '"':
            close = _find_closing_quote(text, pos + 1)
            if close is None:
                record.problem = (len(record.fields), _NOT_CLOSED)
                record.end = size
                return record
            value = text[pos + 1 : close].replace('""', '"')
            record.fields.append(value)
            record.multi_line.append("\n" in value or "\r" in value)
            pos = close + 1
            if pos < size and text[pos] not in ",\r\n" and record.problem is None:
                record.problem = (len(record.fields) - 1, _AFTER_QUOTE)
                pos = _UNQUOTED.match(text, pos).end()
        else:
            value = _UNQUOTED.match(text, pos).group()
            if '"' in value and record.problem is None:
                record.problem = (len(record.fields), _STRAY_QUOTE)
            record.fields.append(value)
            record.multi_line.append(False)
            pos += len(value)
        if pos >= size:
            record.end = size
            return record
        if text[pos] == ",":
            pos += 1
            continue
        record.end = pos + (2 if text.startswith("\r\n", pos) else 1)
        return record


def _find_closing_quote(text: str, pos: int) -> int | None:
    """The position of the quote that closes a quoted field whose content starts at `pos`, or None."""
    while True:
        quote = text.find('"', pos)
        if quote == -1:
            return None
        if text.startswith('""', quote):
            pos = quote + 2
            continue
        return quote


class _CsvReader:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.line = 1

    def rows(self) -> list[CsvRow]:
        self.columns = self._header()
        self.url_index = self.columns.index("url")
        rows: list[CsvRow] = []
        while self.pos < len(self.text):
            start, line = self.pos, self.line
            record = _read_record(self.text, start)
            errors = self._errors(record, start)
            if record.problem and record.problem[1] == _NOT_CLOSED:
                # Where an unclosed quote's row ends cannot be known: it is its first line. Any other quoting
                # error has balanced quotes, so its row ends where the quotes say, and nothing from inside
                # them is ever read as a row of its own.
                record.end = min(record.end, self._end_of_line(start))
            self.pos = record.end
            self.line += len(_LINE_BREAK.findall(self.text, start, record.end))
            if record.fields == [""] and not errors and not self.text.startswith('"', start):
                continue  # a blank line
            cells = (
                {c: v for c, v in zip(self.columns, record.fields, strict=False) if v != ""}
                if not errors
                else {}
            )
            rows.append(CsvRow(cells, line=line, errors=errors))
        return rows

    def _header(self) -> list[str]:
        if not self.text:
            raise ParseError("CSV needs a header row with at least a 'url' column.")
        record = _read_record(self.text, 0)
        if record.problem:
            raise ParseError(f"CSV header row: {record.problem[1][0].lower()}{record.problem[1][1:]}")
        names = [name.strip(" \t") for name in record.fields]
        if any(_UNDECODABLE.search(name) for name in names):
            raise ParseError("CSV header row is not UTF-8.")
        if "url" not in names:
            raise ParseError("CSV needs a header row with at least a 'url' column.")
        if "" in names:
            raise ParseError("CSV header row has an empty column name.")
        unknown = sorted(set(names) - set(CSV_COLUMNS))
        if unknown:
            raise ParseError(f"Unknown CSV column(s): {', '.join(unknown)}.")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ParseError(f"Duplicate CSV column(s): {', '.join(duplicates)}.")
        self.pos = record.end
        self.line += len(_LINE_BREAK.findall(self.text, 0, record.end))
        return names

    def _errors(self, record: _Record, start: int) -> dict[str, list[str]]:
        """The reading errors of the record that starts at `start` on line `self.line`, by column: a quoting
        error alone, else at most one per column."""
        errors: dict[str, list[str]] = {}

        def add(position: int, message: str) -> None:
            key = self.columns[position] if position < len(self.columns) else "non_field_errors"
            errors.setdefault(key, [message])

        if record.problem:
            add(*record.problem)
            return errors
        if len(record.fields) > len(self.columns):
            add(
                len(self.columns),
                f"The row has {len(record.fields)} fields; the header has {len(self.columns)} columns.",
            )
        for position, (column, value) in enumerate(zip(self.columns, record.fields, strict=False)):
            if _UNDECODABLE.search(value):
                add(position, _NOT_UTF8)
            elif record.multi_line[position] and column in _SINGLE_LINE:
                add(position, _LINE_BREAK_IN_FIELD)
            elif record.multi_line[position]:
                row_like = self._row_like_line(value)
                if row_like is not None:
                    line = (
                        self.line
                        + len(_LINE_BREAK.findall(self.text, start, record.starts[position]))
                        + row_like
                    )
                    add(
                        position,
                        f"Line {line} inside this quoted field looks like another row; a quote is missing.",
                    )
        return errors

    def _row_like_line(self, value: str) -> int | None:
        """The offset (1 = the second line) of the first continuation line in `value` that reads as a row
        of its own, its url column holding a URL; None when there is none."""
        for offset, line in enumerate(_LINE_BREAK.split(value)[1:], start=1):
            record = _read_record(line, 0)
            if len(record.fields) <= self.url_index:
                continue
            try:
                canonicalize(record.fields[self.url_index])
            except InvalidUrl:
                continue
            return offset
        return None

    def _end_of_line(self, start: int) -> int:
        match = _LINE_BREAK.search(self.text, start)
        return match.end() if match else len(self.text)
