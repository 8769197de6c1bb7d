"""`manage.py export_statements [--output FILE] [--since ISO] [--until ISO] [--provider SLUG]`: the providers'
statements of reasons as the DSA Transparency Database (API v2) takes them."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from notices.infra.events import audit
from notices.selectors.notices import statement_responses
from notices.services.sor import tdb_statements


def _moment(name: str, value: str | None):
    if not value:
        return None
    moment = parse_datetime(value)
    if moment is None:
        raise CommandError(f"--{name} {value!r} is not an ISO 8601 date-time (e.g. 2026-07-01T00:00:00Z)")
    return moment


class Command(BaseCommand):
    help = (
        "Write the statements of reasons providers gave with removals as the body of the DSA Transparency "
        'Database\'s multi-statement endpoint ({"statements": [...]}, API v2; post at most 100 per call). '
        "A statement the database would refuse is left out and named on stderr (exit status 1)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")
        parser.add_argument("--since", help="Statements given at or after this ISO 8601 time.")
        parser.add_argument("--until", help="Statements given before this ISO 8601 time.")
        parser.add_argument("--provider", help="Only this provider's statements (its slug).")

    def handle(self, *args, **options) -> None:
        responses = statement_responses(
            since=_moment("since", options["since"]),
            until=_moment("until", options["until"]),
            provider=options["provider"],
        )
        result = tdb_statements(responses.iterator(chunk_size=500))
        body = json.dumps({"statements": result["statements"]}, indent=2, ensure_ascii=False) + "\n"
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as handle:
                handle.write(body)
        else:
            sys.stdout.write(body)
        audit(
            actor="command:export_statements",
            action="statements.export",
            data={"statements": len(result["statements"]), "invalid": len(result["invalid"])},
        )
        for bad in result["invalid"]:
            self.stderr.write(f"{bad['puid']}: left out: {json.dumps(bad['errors'], ensure_ascii=False)}")
        self.stderr.write(f"Exported {len(result['statements'])} statement(s).")
        if result["invalid"]:
            raise CommandError(
                f"{len(result['invalid'])} statement(s) the database would refuse were left out"
            )
