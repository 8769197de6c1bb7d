"""`manage.py import_cases FILE`: a hotline-network exchange package (notices/schemas/exchange-v1.json) into
our cases; a summary on stdout, each refused record with its index and reference on stderr."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notices.infra.events import audit
from notices.services.exchange import ExchangeError, import_package
from tracker.progress import progress_bar


class Command(BaseCommand):
    help = (
        "Import a case package from another hotline (JSON, validated against "
        "notices/schemas/exchange-v1.json): "
        "new cases are reported and assessed; every case gets the sender's reference (deconfliction). Exits "
        "non-zero when the file is not a package or any record was refused (the others are imported)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="The package (JSON).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar, even on a terminal.")

    def handle(self, *args, **options) -> None:
        path = options["file"]
        try:
            with open(path, encoding="utf-8") as handle:
                document = json.load(handle)
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path}:{exc.lineno}:{exc.colno}: not JSON ({exc.msg})") from None
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        cases = document.get("cases") if isinstance(document, dict) else None
        total = len(cases) if isinstance(cases, list) else 0
        show = False if options["no_progress"] else None
        with progress_bar(total=total, desc="Importing cases", unit="cases", enabled=show) as bar:
            try:
                result = import_package(document=document, now=timezone.now(), progress=bar.update)
            except ExchangeError as exc:
                problems = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in exc.errors.items())
                raise CommandError(f"{path}: not an exchange package: {problems}") from None
        summary = result.summary()
        audit(
            actor="command:import_cases",
            action="exchange.import",
            data={**summary, "errors": len(result.errors)},
        )
        for error in result.errors:
            self.stderr.write(
                f"{path}: record {error['index']} ({error['reference']}): {'; '.join(error['errors'])}"
            )
        self.stdout.write(
            f"Imported {path}: {summary['created']} new case(s), {summary['linked']} known case(s) linked, "
            f"{summary['unchanged']} already imported, {summary['failed']} refused."
        )
        if result.errors:
            raise CommandError(f"{path}: {len(result.errors)} record(s) refused")
