"""/metrics: guarded by a token or a network, requests by route, checks by outcome, the deployment's state
read from the database at scrape time, queue depths from the broker, counters summed over processes."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from notices.checks.classify import Outcome
from notices.checks.engine import Observation
from notices.infra import metrics as process_metrics
from notices.models import Url
from notices.services import checking
from notices.services.intake import ReportInput, submit_report
from tracker.celery import app
from tracker.jsonlog import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-for-tests-0123456789"


def _samples(body: bytes) -> dict[tuple[str, tuple], float]:
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _scrape(client: Client | None = None, **headers) -> dict:
    response = (client or Client()).get("/metrics", headers=headers)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain")
    return _samples(response.content)


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []
    return {"authorization": f"Bearer {TOKEN}"}


@pytest.mark.django_db
def test_metrics_are_off_without_a_token_or_network(settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_NETWORKS = "", []
    assert Client().get("/metrics").status_code == 404


@pytest.mark.django_db
def test_a_wrong_or_missing_token_and_a_foreign_address_are_refused(settings, token):
    assert Client().get("/metrics").status_code == 403
    assert Client().get("/metrics", headers={"authorization": "Bearer wrong"}).status_code == 403
    assert Client().get("/metrics", headers=token).status_code == 200
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_NETWORKS = "", ["192.0.2.0/24"]
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 403
    assert Client(REMOTE_ADDR="192.0.2.7").get("/metrics").status_code == 200
    assert Client().post("/metrics").status_code in {403, 405}


@pytest.mark.django_db
def test_requests_are_counted_by_route_pattern_never_by_path(token):
    before = _scrape(**token)
    client = Client()
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    client.get("/portal/no-such-page-4711/")
    after = _scrape(**token)
    key = ("notices_http_requests_total", (("method", "GET"), ("route", "/healthz"), ("status", "2xx")))
    assert after[key] - before.get(key, 0) == 3
    latency = ("notices_http_request_duration_seconds_count", (("method", "GET"), ("route", "/healthz")))
    assert after[latency] - before.get(latency, 0) == 3
    assert not any("4711" in str(labels) for _, labels in after)


@pytest.mark.django_db
def test_checks_are_counted_by_outcome_once_recorded(token):
    url_id = submit_report(item=ReportInput(url="http://metrics.example/a.html"), now=timezone.now()).url_id
    fields = {"status_code": 404, "final_url": "http://metrics.example/a.html", "error_class": ""}
    fields |= {"resolved_ip": "192.0.2.1", "redirects": 0, "elapsed_ms": 12, "vantage": "direct"}
    observation = Observation(key=url_id, outcome=Outcome.GONE, checked_at=timezone.now(), **fields)
    before = _scrape(**token)
    checking._record([observation])
    after = _scrape(**token)
    key = ("notices_checks_total", (("outcome", "gone"),))
    assert after[key] - before.get(key, 0) == 1


@pytest.mark.django_db
def test_state_gauges_come_from_the_database_at_scrape_time(token):
    now = timezone.now()
    url_id = submit_report(item=ReportInput(url="http://metrics.example/due.html"), now=now).url_id
    Url.objects.filter(pk=url_id).update(next_check_at=now - timedelta(minutes=5))
    samples = _scrape(**token)
    assert samples[("notices_due_checks", ())] >= 1
    assert samples[("notices_due_check_lag_seconds", ())] >= 299
    assert samples[("notices_outbox_backlog", ())] == 0
    assert samples[("notices_outbox_oldest_unsent_age_seconds", ())] == 0
    assert samples[("notices_claims_expired", (("queue", "outbox"),))] == 0
    assert samples[("notices_check_partitions_missing", ())] == 0
    assert samples[("notices_check_partitions", ())] >= 3


@pytest.mark.django_db
def test_queue_depths_come_from_the_broker(token, broker_url):
    with app.connection_for_write() as connection:
        channel = connection.channel()
        channel.queue_purge("imports")
        with app.producer_or_acquire() as producer:
            for _ in range(2):
                app.send_task("notices.metrics_depth_probe", queue="imports", producer=producer)
        try:
            samples = _scrape(**token)
        finally:
            channel.queue_purge("imports")
            channel.close()
    assert samples[("notices_queue_depth", (("queue", "imports"),))] == 2
    assert samples[("notices_queue_depth", (("queue", "mail"),))] >= 0


PROCESS = """
import os, sys
sys.path.insert(0, {root!r})
os.environ["DJANGO_SETTINGS_MODULE"] = "tracker.settings"
import django
django.setup()
from notices.infra import metrics
metrics.count_checks(["live", "live", "unknown"])
"""


def test_counters_of_separate_processes_are_summed(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        subprocess.run(
            [sys.executable, "-c", PROCESS.format(root=str(ROOT))], env=env, check=True, timeout=60
        )
    assert len(list(tmp_path.glob("counter_*.db"))) == 2  # one file per process
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    assert registry.get_sample_value("notices_checks_total", {"outcome": "live"}) == 4
    assert registry.get_sample_value("notices_checks_total", {"outcome": "unknown"}) == 2
    assert process_metrics.multiprocess_dir()  # this process (the tests, as web and workers) writes files too


def test_json_log_lines_carry_the_redacted_message():
    from tracker.redaction import RedactingFilter

    record = logging.LogRecord(
        "notices.x", logging.WARNING, __file__, 1, "key %s", ("tt_0123abcd_secretpart",), None
    )
    RedactingFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "WARNING" and line["logger"] == "notices.x"
    assert "secretpart" not in line["message"] and line["message"].startswith("key tt_0123abcd_")
    assert line["time"].endswith("+00:00")


@pytest.mark.django_db
def test_escalation_steps_count_once_their_sweep_commits(token, django_capture_on_commit_callbacks):
    key = ("notices_escalation_steps_total", (("action", "repeat_notice"), ("attempt", "first")))
    before = _scrape(**token).get(key, 0)
    with django_capture_on_commit_callbacks(execute=False) as dropped:  # a sweep that rolled back
        process_metrics.count_steps(["repeat_notice"], attempt="first")
    assert len(dropped) == 1 and _scrape(**token).get(key, 0) == before
    with django_capture_on_commit_callbacks(execute=True):
        process_metrics.count_steps(["repeat_notice", "repeat_notice"], attempt="first")
    assert _scrape(**token)[key] - before == 2
