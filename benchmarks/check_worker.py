"""A check worker for P4 with several processes: `python -m benchmarks.check_worker` with DATABASE_URL and
the CHECKER_* settings in its environment.

Prints "ready" once Django is set up, waits for a line on stdin, then runs the sweep's body (claim → check →
record, CHECK_BATCH_SIZE at a time) until nothing is due, prints how many it checked, and exits. Claims keep
two of them from ever checking one URL twice.
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.utils import timezone

    from notices.services.checking import run_checks
    from tracker.runtime import freeze_start_up_objects

    freeze_start_up_objects()  # as a Celery worker process does
    print("ready", flush=True)
    sys.stdin.readline()
    checked = 0
    while done := run_checks(now=timezone.now(), limit=settings.CHECK_BATCH_SIZE):
        checked += done
    print(checked, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
