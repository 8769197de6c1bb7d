"""`manage.py import_reports FILE [--partner NAME] [--format csv|jsonl] [--restart]` (`-`: standard input).

Streams the file into bulk intake (notices/services/imports.py): a progress bar on a terminal (nothing
otherwise), each line that is not a report on stderr as `FILE:LINE: reason`, a summary on stdout. Running the
same file again after an interruption resumes after the last committed line, once the lines it skips are
checked to be the ones recorded (a file that is not is imported from line 1 as a new run, said on stderr;
standard input that is not stops, nothing recorded, until run with `--restart`). Exit status 0 when the file
was read to its end, whatever its lines held; non-zero only on fatal errors (unreadable file, bad CSV header,
unknown partner, a second import of the same file running, standard input that is not the input an earlier
run read, the database failing). Ctrl-C stops it with one line saying how far it got and how to resume, exit
status 130.
"""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from notices.models import Partner
from notices.services.imports import FORMATS, ImportFatal, ImportInterrupted, ImportOutcome, import_reports
from tracker.progress import is_terminal, progress_bar


class Command(BaseCommand):
    help = (
        "Import reports from a CSV file (header: url, reported_at, external_ref, notes) or JSON lines (one "
        "report object per line); '-' reads standard input. Resumable: run the same file again after an "
        "interruption and it continues after the last committed line (checked to be the same lines)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", metavar="FILE", help="Path, or '-' for standard input.")
        parser.add_argument("--partner", help="The partner the reports come from (must exist).")
        parser.add_argument(
            "--format", choices=FORMATS, help="Default: jsonl if the first line is an object."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar, even on a terminal.")
        parser.add_argument(
            "--restart",
            action="store_true",
            help="Ignore earlier runs of this input: import it from line 1 as a new run (reports recorded "
            "before stay; the same URLs again count as duplicates).",
        )

    def handle(self, *args, **options) -> None:
        name = options["file"]
        partner = self._partner(options["partner"])
        stream = self._open(name)
        bar = self._bar(name, stream, quiet=options["no_progress"])
        started = time.monotonic()
        try:
            outcome = import_reports(
                stream,
                name=name,
                partner=partner,
                fmt=options["format"] or _format_by_name(name),
                restart=options["restart"],
                on_error=lambda line, reason: self.stderr.write(f"{name}:{line}: {reason}"),
                on_progress=bar.update,
                on_notice=self.stderr.write,
            )
        except ImportFatal as exc:
            raise CommandError(str(exc)) from None
        except ImportInterrupted as exc:
            bar.close()
            again = "the command again without --restart" if options["restart"] else "the same command again"
            self.stderr.write(f"{exc}; run {again} to resume after line {exc.lines_done:,}.")
            raise SystemExit(130) from None
        except DatabaseError as exc:
            raise CommandError(
                f"{name}: the database failed ({exc}); run the command again to resume"
            ) from exc
        finally:
            bar.close()
            if stream is not sys.stdin.buffer:
                stream.close()
        self.stdout.write(summary(name, outcome, time.monotonic() - started))

    def _partner(self, name: str | None) -> Partner | None:
        if name is None:
            return None
        partner = Partner.objects.filter(name=name).first()
        if partner is None:
            raise CommandError(f"No partner named {name!r} (create_api_key --partner NAME creates one).")
        return partner

    def _open(self, name: str):
        if name == "-":
            return sys.stdin.buffer
        try:
            return open(name, "rb")
        except OSError as exc:
            raise CommandError(f"{name}: {exc.strerror}") from None

    def _bar(self, name: str, stream, *, quiet: bool):
        total = None
        try:
            total = stream.seek(0, 2) or None
            stream.seek(0)
        except (OSError, ValueError):
            pass
        enabled = False if quiet or not is_terminal(sys.stderr) else None
        return progress_bar(total=total, desc=name, unit="B", unit_scale=True, enabled=enabled)


def _format_by_name(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    return None


def summary(name: str, outcome: ImportOutcome, seconds: float) -> str:
    run = outcome.run
    if outcome.already_done:
        return (
            f"{name}: imported completely before ({run.lines_done:,} lines, {run.accepted:,} reports "
            f"accepted, {run.rejected:,} lines rejected); nothing to do."
        )
    rate = outcome.lines / seconds if seconds else 0
    lines = [
        f"{name}: read {outcome.lines:,} lines in {seconds:.1f} s ({rate:,.0f}/s): {outcome.accepted:,} "
        f"reports accepted ({outcome.duplicates:,} of a URL already known), {outcome.rejected:,} lines "
        "rejected."
    ]
    if outcome.continued:
        lines.append(
            f"Lines 1–{outcome.skipped:,} are those of an earlier import of this input that finished; "
            f"read on after line {outcome.skipped:,} as a new run."
        )
    elif outcome.skipped:
        lines.append(f"Resumed after line {outcome.skipped:,} (done by an earlier run).")
    if outcome.skipped or run.accepted != outcome.accepted:
        lines.append(f"All runs of this file: {run.accepted:,} accepted, {run.rejected:,} rejected.")
    return "\n".join(lines)
