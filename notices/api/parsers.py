"""Request body parsers: JSON that cannot crash the views, and CSV for bulk intake (`text/csv`)."""

from __future__ import annotations

import csv
import io
import re

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser

CSV_COLUMNS = {"url", "reported_at", "external_ref", "notes"}
MAX_JSON_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonParser(JSONParser):
    """DRF's JSON parser, refusing what valid JSON text can carry but nothing downstream can handle: nesting
    deeper than any request needs (it crashes the decoder, error messages and the database encoder) and lone
    UTF-16 surrogates (`"\\ud800"`: not Unicode, so neither UTF-8 output nor PostgreSQL can hold them). Both
    would be 500s; they are 400s here, before any serializer sees them."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            problem = f"nested deeper than {MAX_JSON_DEPTH} levels"
        else:
            problem = _problem(data)
        if problem:
            raise ParseError(f"JSON parse error - {problem}.")
        return data


def _problem(data) -> str | None:
    """What makes parsed JSON unusable, or None. Iterative, so that it cannot recurse too deeply itself."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str) and _SURROGATE.search(value):
            return "text contains a lone UTF-16 surrogate"
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                return f"nested deeper than {MAX_JSON_DEPTH} levels"
            children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return None


class CsvParser(BaseParser):
    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None) -> list[dict]:
        try:
            text = stream.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ParseError("CSV body must be UTF-8.") from None
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "url" not in reader.fieldnames:
            raise ParseError("CSV needs a header row with at least a 'url' column.")
        unknown = set(reader.fieldnames) - CSV_COLUMNS
        if unknown:
            raise ParseError(f"Unknown CSV column(s): {', '.join(sorted(unknown))}.")
        try:
            return [{k: v for k, v in row.items() if v not in (None, "")} for row in reader]
        except csv.Error as exc:
            raise ParseError(f"CSV line {reader.line_num}: {exc}") from None
