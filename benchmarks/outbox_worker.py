"""An outbox worker for P10: `python -m benchmarks.outbox_worker` with DATABASE_URL and EMAIL_* set.

Prints "ready" once Django is set up, waits for a line on stdin, then claims and sends due messages in batches
(as the beat sweep does, one SMTP connection per batch) until none is due, and exits.
"""

from __future__ import annotations

import os
import sys

BATCH = 50


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")
    import django

    django.setup()
    from django.utils import timezone

    from notices.delivery.outbox import SmtpSession, claim_due_messages
    from notices.services.delivery import send_claimed
    from tracker.runtime import freeze_start_up_objects

    freeze_start_up_objects()  # as a Celery worker process does
    print("ready", flush=True)
    sys.stdin.readline()
    while ids := claim_due_messages(now=timezone.now(), limit=BATCH):
        with SmtpSession() as smtp:  # one connection per batch, as the sweep task
            for message_id in ids:
                send_claimed(message_id, smtp=smtp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
