"""`manage.py export_cases [--output FILE] [--since ISO-TIME] [--id N …]`: cases as a hotline-network exchange
package (notices/schemas/exchange-v1.json), streamed record by record."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from notices.infra.events import audit
from notices.selectors.exchange import case_record, exchange_cases, package
from tracker.progress import progress_bar


class Command(BaseCommand):
    help = (
        "Write cases as a hotline-network exchange package (JSON, schema notices/schemas/exchange-v1.json): "
        "URL, hosting, assessment in the shared vocabulary, hashes, timestamps, action and reason codes."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")
        parser.add_argument("--since", help="Only cases first reported at or after this ISO 8601 time.")
        parser.add_argument(
            "--id", type=int, action="append", dest="ids", help="Only this case (repeatable)."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar, even on a terminal.")

    def handle(self, *args, **options) -> None:
        since = None
        if options["since"]:
            since = parse_datetime(options["since"])
            if since is None:
                raise CommandError(f"--since {options['since']!r} is not an ISO 8601 date-time")
        cases = exchange_cases(since=since, ids=options["ids"])
        total = cases.count()
        path = options["output"]
        out = open(path, "w", encoding="utf-8") if path else sys.stdout  # noqa: SIM115 (closed below)
        try:
            written = self._write(out, cases, total=total, show=False if options["no_progress"] else None)
        finally:
            if out is not sys.stdout:
                out.close()
        audit(actor="command:export_cases", action="exchange.export", data={"cases": written})
        self.stderr.write(f"Exported {written} case(s).")

    @staticmethod
    def _write(out, cases, *, total: int, show: bool | None) -> int:
        """The package, one record at a time (the header first, the records streamed from the database)."""
        header = json.dumps(package([], now=timezone.now()), ensure_ascii=False)
        out.write(header[: -len("[]}")] + "[")
        written = 0
        with progress_bar(total=total, desc="Exporting cases", unit="cases", enabled=show) as bar:
            for case in cases.iterator(chunk_size=500):
                out.write(("," if written else "") + "\n" + json.dumps(case_record(case), ensure_ascii=False))
                written += 1
                bar.update(1)
        out.write("\n]}\n")
        return written
