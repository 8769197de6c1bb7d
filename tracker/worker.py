"""`python -m tracker.worker checks [mail …]`: a Celery worker for these queues (tracker/queues.py), with the
concurrency their WORKER_CONCURRENCY_* settings give. Further arguments after `--` go to Celery."""

from __future__ import annotations

import os
import sys

from tracker.queues import QUEUES, worker_command


def main(argv: list[str]) -> None:
    queues, extra = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    if not queues:
        sys.exit(f"usage: python -m tracker.worker QUEUE [QUEUE …] [-- celery options]; queues: {QUEUES}")
    try:
        command = worker_command(sys.executable, queues)
    except ValueError as exc:
        sys.exit(str(exc))
    os.execv(command[0], [*command, *extra])  # noqa: S606 - becomes the worker; no shell, a fixed program


if __name__ == "__main__":
    main(sys.argv[1:])
