"""`manage.py import_registry ripe FILE… | pyasn FILE… | mmdb FILE | delegated FILE…`.

After a successful import every open case is re-evaluated against the new data
(notices.services.reevaluation): the cases whose provider, network or country changed get an event and a
re-trace.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from notices.hosting.importers import FORMATS, ImportFailed, ImportRefused, ImportSummary, import_files
from notices.management.commands.reevaluate_hosting import reevaluate_with_progress


def _as_of(text: str) -> datetime:
    value = parse_datetime(text) or parse_datetime(f"{text}T00:00:00")
    if value is None:
        raise ValueError(f"not an ISO 8601 date or time: {text!r}")
    return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)


class Command(BaseCommand):
    help = (
        "Import registry or routing data as a new generation and make it the active one atomically. "
        "Plain or gzip files, streamed; progress on a terminal, a summary at the end. Then every open case "
        "is re-evaluated against the new data (see reevaluate_hosting)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("format", choices=FORMATS)
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--force", action="store_true", help="Import even if older than the active data.")
        parser.add_argument("--as-of", type=_as_of, help="Time of the data (default: from the files).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar, even on a terminal.")
        parser.add_argument(
            "--no-reevaluate",
            action="store_true",
            help="Do not re-evaluate the open cases now (when more imports follow: the last one does).",
        )

    def handle(self, *args, **options) -> None:
        show_progress = False if options["no_progress"] else None
        try:
            summary = import_files(
                options["format"],
                options["files"],
                now=timezone.now(),
                force=options["force"],
                as_of=options["as_of"],
                show_progress=show_progress,
            )
        except (ImportFailed, ImportRefused) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(format_summary(summary))
        if options["no_reevaluate"]:
            return
        try:
            self.stdout.write(reevaluate_with_progress(show_progress=show_progress).describe())
        except DatabaseError as exc:
            raise CommandError(
                f"the import is active, but re-evaluating the open cases failed: {exc}; "
                "run manage.py reevaluate_hosting"
            ) from exc


def format_summary(summary: ImportSummary) -> str:
    record = summary.record
    rate = summary.objects / summary.seconds if summary.seconds else 0
    lines = [
        f"Imported {record.get_dataset_display()} as generation #{record.pk} (data of "
        f"{record.data_time:%Y-%m-%d %H:%M} UTC), now active.",
        f"Read {summary.objects:,} objects in {summary.seconds:.1f} s ({rate:,.0f}/s).",
        "Rows: " + ", ".join(f"{table} {count:,}" for table, count in record.counts.items()),
    ]
    for reason, entry in sorted(summary.skips.reasons.items()):
        lines.append(f"  {entry['count']:>9,} × {reason} — first at {entry['first']}")
    if summary.dropped:
        lines.append("Dropped superseded tables: " + ", ".join(summary.dropped))
    return "\n".join(lines)
