"""The Celery app. Tasks live in notices/tasks.py; the schedule is tracker.schedule.beat_schedule()."""

import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")

app = Celery("tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _install_schedule(sender: Celery, **kwargs) -> None:
    # Imported here: the schedule reads settings: only once the app finalizes.
    from tracker.schedule import beat_schedule  # noqa: PLC0415

    sender.conf.beat_schedule = beat_schedule()


@worker_init.connect
@worker_process_init.connect
def _freeze_start_up_objects(**kwargs) -> None:
    """In the worker (solo pool, or the prefork parent before it forks) and in each prefork child: see
    `tracker.runtime.freeze_start_up_objects`."""
    from tracker.runtime import freeze_start_up_objects  # noqa: PLC0415 (in worker processes only)

    freeze_start_up_objects()


@worker_init.connect
@worker_process_init.connect
def _renew_leases(**kwargs) -> None:
    """Worker processes renew the leases of the claims they hold from a heartbeat thread, so a dead worker's
    claims come back within one lease (`notices.infra.claims.start_heartbeat`)."""
    from notices.infra.claims import enable_heartbeats  # noqa: PLC0415 (in worker processes only)

    enable_heartbeats()


@after_setup_logger.connect
@after_setup_task_logger.connect
def _redact_logs(logger, **kwargs) -> None:
    """Celery sets up its own handlers in the worker and beat: they redact secrets too (tracker/redaction.py;
    a task's arguments, results and errors may carry links or keys)."""
    from django.conf import settings  # noqa: PLC0415 (only where Celery configures logging)

    from tracker.jsonlog import JsonFormatter  # noqa: PLC0415 (only where Celery configures logging)
    from tracker.redaction import redact_handlers  # noqa: PLC0415 (only where Celery configures logging)

    redact_handlers(logger)
    if settings.LOG_FORMAT == "json":  # LOG_FORMAT=json: Celery's own handlers write JSON lines too
        for handler in logger.handlers:
            handler.setFormatter(JsonFormatter())
