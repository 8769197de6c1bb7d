"""The Celery app. Tasks live in notices/tasks.py; the schedule is tracker.schedule.beat_schedule()."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")

app = Celery("tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _install_schedule(sender: Celery, **kwargs) -> None:
    from tracker.schedule import beat_schedule

    sender.conf.beat_schedule = beat_schedule()
