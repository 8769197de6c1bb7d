"""Request body parsers: JSON that cannot crash on deep nesting, and CSV for bulk intake (`text/csv`)."""

from __future__ import annotations

import csv
import io

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser

CSV_COLUMNS = {"url", "reported_at", "external_ref", "notes"}
MAX_JSON_DEPTH = 32


class JsonParser(JSONParser):
    """DRF's JSON parser with a nesting limit: no request shape needs more than a few levels, and deeper
    bodies would crash the decoder, error messages or the database encoder (a 500) instead of a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            data = None
        else:
            if _depth_within(data, MAX_JSON_DEPTH):
                return data
        raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")


def _depth_within(data, limit: int) -> bool:
    """True when no array or object in `data` lies more than `limit` levels deep (iterative: no recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth >= limit:
                    return False
                stack.append((child, depth + 1))
    return True


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
