"""CSV bodies for bulk intake (`Content-Type: text/csv`), with a header row naming the columns."""

from __future__ import annotations

import csv
import io

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

CSV_COLUMNS = {"url", "reported_at", "external_ref", "notes"}


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
