"""`manage.py purge_retention [--dry-run] [--now ISO-TIME]`: the retention purge, by hand."""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notices.services.retention import PurgeReport, purge
from tracker.progress import progress_bar


def parse_now(value: str | None) -> datetime:
    """`--now`: an ISO 8601 date or date-time (local time if it names no zone); default the present."""
    if not value:
        return timezone.now()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--now {value!r} is not an ISO 8601 date-time (e.g. 2027-01-31T03:00:00Z)"
        ) from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def purge_with_progress(*, now: datetime, dry_run: bool, show_progress: bool | None) -> PurgeReport:
    """The purge with a progress bar on a terminal (none when `show_progress` is False)."""
    with progress_bar(desc="Purging ended cases", unit="cases", enabled=show_progress) as bar:

        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.update(done)

        return purge(now=now, dry_run=dry_run, via="command", on_progress=advance)


class Command(BaseCommand):
    help = (
        "Remove the URLs (strings, hashes, notes) of cases ended longer ago than the retention settings say, "
        "keeping the anonymous statistics; prints what went (with --dry-run: what would go, writing "
        "nothing). Beat runs the same daily."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be purged; write nothing."
        )
        parser.add_argument(
            "--now", help="Purge as of this ISO 8601 time instead of the present (e.g. 2027-01-31T03:00:00Z)."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar, even on a terminal.")

    def handle(self, *args, **options) -> None:
        report = purge_with_progress(
            now=parse_now(options["now"]),
            dry_run=options["dry_run"],
            show_progress=False if options["no_progress"] else None,
        )
        self.stdout.write(report.describe())
