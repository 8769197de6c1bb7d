"""Each benchmark gives back what it starts and changes, so one `make bench` runs P1–P12 in one process."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import psutil
import pytest
from django.conf import settings

from benchmarks.harness import celery_broker, changed_settings, stop_process
from tracker.celery import app
from tracker.embedded import redis

pytestmark = pytest.mark.timeout(60)


def _publish(queue: str) -> None:
    app.send_task("benchmarks.harness-test", queue=queue, retry=False)


def test_a_broker_stopped_inside_its_block_is_never_used_afterwards(tmp_path, broker_url):
    queue = f"harness-test-{uuid.uuid4().hex}"
    _publish(queue)  # the session's broker has a pool in kombu's process-wide registry before the benchmark
    proc, url = redis.start(tmp_path / "bench-redis")
    try:
        with celery_broker(url):
            _publish(queue)  # opens pooled connections to this broker
            assert app.conf.broker_url == url
    finally:
        redis.stop(proc)  # the benchmark stops its broker, as P11 does
    assert app.conf.broker_url == broker_url
    with celery_broker("memory://"):  # the next benchmark (P9) publishes to its own transport
        _publish(queue)
    _publish(queue)  # and the session's broker works again too
    with app.connection_for_write() as connection:
        assert connection.as_uri().startswith(broker_url.split("://")[0])


def test_changed_settings_are_restored():
    before = settings.CHECKER_CONCURRENCY
    with changed_settings(CHECKER_CONCURRENCY=before + 17):
        assert before + 17 == settings.CHECKER_CONCURRENCY
    assert before == settings.CHECKER_CONCURRENCY


def test_stop_process_stops_its_whole_group():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
            "'import time; time.sleep(60)']); time.sleep(60)",
        ],
        start_new_session=True,
    )
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 10
    while not parent.children() and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = parent.children()[0]
    stop_process(proc, timeout=5)
    assert proc.returncode is not None
    grandchild.wait(5)
    assert not grandchild.is_running()


LEFTOVER = """
import os, subprocess, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")
import django
django.setup()
from benchmarks.harness import release_leftovers
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
release_leftovers("forgetful")
print(child.poll() is not None)
"""


def test_release_leftovers_stops_children_a_benchmark_forgot():
    result = subprocess.run(
        [sys.executable, "-c", LEFTOVER], capture_output=True, text=True, timeout=40, check=True
    )
    assert result.stdout.strip() == "True"
    assert "left process" in result.stderr
