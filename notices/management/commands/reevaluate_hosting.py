"""`manage.py reevaluate_hosting`: compare every open case's trace with the active registry data."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone

from notices.services.reevaluation import Summary, reevaluate_open_cases
from tracker.progress import progress_bar


def reevaluate_with_progress(*, show_progress: bool | None) -> Summary:
    """The re-evaluation with a progress bar on a terminal (none when `show_progress` is False)."""
    with progress_bar(desc="Re-evaluating open cases", unit="cases", enabled=show_progress) as bar:
        return reevaluate_open_cases(now=timezone.now(), on_progress=bar.update)


class Command(BaseCommand):
    help = (
        "Look every open case's traced address up in the active registry data; record the cases whose "
        "provider, network or country changed and queue their re-traces (import_registry does this after "
        "each import)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-progress", action="store_true", help="No progress bar, even on a terminal.")

    def handle(self, *args, **options) -> None:
        summary = reevaluate_with_progress(show_progress=False if options["no_progress"] else None)
        self.stdout.write(summary.describe())
