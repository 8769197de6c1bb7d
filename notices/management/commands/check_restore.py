"""`manage.py check_restore`: is this (restored) database consistent? Exit 1 when it is not.

Checks that every migration of this code is applied (and none unknown to it), that the check table has its
partitions for this and next month and an empty default partition, that every sequence is ahead of its
table's largest value (ids, notice references), that the database's triggers exist and are enabled, and that
every declared constraint and index exists and is valid (README "Backups and restore").
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notices.selectors import consistency


class Command(BaseCommand):
    help = "Check that a restored database is consistent: migrations, partitions, sequences, triggers."

    def handle(self, *args, **options) -> None:
        findings = consistency.run(timezone.now())
        width = max(len(f.check) for f in findings)
        for finding in findings:
            mark = self.style.SUCCESS("ok  ") if finding.ok else self.style.ERROR("FAIL")
            self.stdout.write(f"{mark} {finding.check.ljust(width)}  {finding.detail}")
        failed = [f.check for f in findings if not f.ok]
        if failed:
            raise CommandError(f"the database is not consistent: {', '.join(failed)}")
        self.stdout.write("The database is consistent.")
