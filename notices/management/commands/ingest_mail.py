"""`manage.py ingest_mail FILE…`: take in received mails (.eml; a directory means its *.eml; `-` is stdin)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notices.services.inbound import ingest_message


class Command(BaseCommand):
    help = "Ingest replies, auto-replies and bounces to notice mails from .eml files (or `-` for stdin)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("files", nargs="+", help=".eml files, directories of them, or - for stdin.")

    def handle(self, *args, **options) -> None:
        kinds: Counter[str] = Counter()
        failed = []
        for name in _expand(options["files"]):
            try:
                raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
            except OSError as exc:
                failed.append(name)
                self.stderr.write(f"{name}: cannot read ({exc.strerror or exc})")
                continue
            row = ingest_message(raw, now=timezone.now())
            kinds[row.kind] += 1
            self.stdout.write(f"{name}: {row.kind} {row.notice.reference if row.notice else '-'}")
        summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())) or "nothing"
        self.stdout.write(f"Ingested {sum(kinds.values())} message(s): {summary}.")
        if failed:
            raise CommandError(f"{len(failed)} file(s) could not be read: {', '.join(failed)}")


def _expand(names: list[str]) -> list[str]:
    """A directory stands for the .eml files in it, in name order."""
    out = []
    for name in names:
        path = Path(name)
        out += sorted(str(p) for p in path.glob("*.eml")) if name != "-" and path.is_dir() else [name]
    return out
