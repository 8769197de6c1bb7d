"""Two worker hosts on one database and one broker, one of them killed mid-run — and two beats started by
mistake. Redis, and RabbitMQ (127.0.0.1:5672) as the broker.

Two Celery workers (prefork pools, hostnames hostA and hostB) and the web run as separate processes; two
`celery beat` processes run the same schedule. A backlog of outbox mails (to a real SMTP server), due checks
(against a real HTTP server) and traces (through a real DNS server) is worked off while the web takes reports;
host A is SIGKILLed (its main process and its pool) after the fifth mail. Every item is done exactly once:
each mail arrives (a copy sent again after the kill only with the same Message-ID, and counted), each URL is
checked once and traced once, the dead host's claims come back after their lease, and the second beat doubles
nothing (its sweeps claim what the first one's did not).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

import psutil
import pytest
from django.db.models import Count, Sum

from notices.demo.web import DemoWeb
from notices.models import Check, HostingTrace, OutgoingMessage, Partner, Url
from notices.services.assessment import assess_url
from notices.services.intake import ReportInput, submit_report
from notices.services.keys import create_api_key
from notices.services.notices import create_notices, queue_notice
from tests.conftest import ROOT, TEST_VAR, database_url_for_children
from tests.outage import request

pytestmark = [pytest.mark.slow, pytest.mark.timeout(115)]

MAILS, CHECKS, TRACES = 24, 24, 16
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request, broker_url):
    if request.param == "redis":
        return broker_url
    if not reachable("127.0.0.1", 5672):
        pytest.skip("RabbitMQ is not reachable on 127.0.0.1:5672 (CI has one; start it to run this case)")
    return RABBITMQ


def wait_until(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Processes:
    """Celery processes of the test, each in a process group of its own, stopped at the end."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env, self.started = env, []

    def start(self, name: str, *argv: str, ready: bytes) -> subprocess.Popen:
        log_path = TEST_VAR / f"two-hosts-{os.getpid()}-{name}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "tracker", *argv],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc.log_path = log_path
        self.started.append(proc)
        wait_until(lambda: proc.poll() is not None or ready in log_path.read_bytes(), 40, f"{name} ready")
        assert proc.poll() is None, log_path.read_text()[-3000:]
        return proc

    def worker(self, host: str) -> subprocess.Popen:
        return self.start(
            host,
            "worker",
            "--hostname",
            f"{host}@%h",
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "-l",
            "info",
            ready=b"ready.",
        )

    def beat(self, name: str) -> subprocess.Popen:
        schedule = str(TEST_VAR / f"two-hosts-{os.getpid()}-{name}-schedule")
        return self.start(name, "beat", "-l", "info", "--schedule", schedule, ready=b"beat: Starting")

    def stop(self) -> None:
        from tracker.processes import stop_groups

        stop_groups(self.started, grace=10)


@pytest.fixture
def backlog(make_case, make_provider, provider, analyst, dns_server, now):
    """Outbox mails to `provider`, notified cases of an API-only provider whose first check is due, and
    assessed URLs whose trace is to come (their hosts in the DNS server): (mail ids, check ids, trace ids)."""
    for n in range(MAILS):
        case = make_case(f"http://files.polder.example/m{n}.html", provider=provider, when=now)
        (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=now, created_by=analyst)
        queue_notice(notice=notice, now=now)
    api_provider = make_provider("balkan", country="BG", prefix="203.0.113.0/24", channel="api_only")
    checked = []
    for n in range(CHECKS):
        case = make_case(f"http://cdn.balkan.example/c{n}.jpg", provider=api_provider, when=now)
        (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=now, created_by=analyst)
        queue_notice(notice=notice, now=now)
        checked.append(case.pk)
    traced = []
    for n in range(TRACES):
        host = f"t{n}.polder.example"
        dns_server.set_record(host, "A", [f"198.51.100.{n + 10}"])
        url = Url.objects.get(pk=submit_report(item=ReportInput(url=f"http://{host}/x.html"), now=now).url_id)
        assess_url(url=url, analyst=analyst, legality="illegal_international", classification="A1", now=now)
        traced.append(url.pk)
    mails = list(OutgoingMessage.objects.values_list("pk", flat=True))
    assert len(mails) == MAILS
    return mails, checked, traced


@pytest.fixture
def no_leftover_tasks():
    """The test process's own hand-offs go to the session broker's default queue, which no host reads (they
    read a queue of the test's own: the sweeps of the two beats find every item). They are purged after."""
    from tracker.celery import app

    yield
    app.control.purge()


def test_two_hosts_one_killed_two_beats_every_item_done_exactly_once(
    broker, no_leftover_tasks, backlog, smtp_sink, dns_server, start_web, settings, transactional_db
):
    _, check_ids, trace_ids = backlog
    web_host = DemoWeb()
    web_host.start()
    web_host.live_hosts.add("cdn.balkan.example")
    queue = f"two-hosts-{os.getpid()}"  # a broker shared with other test runs: a queue of our own
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_children(),
        "CELERY_BROKER_URL": broker,
        "CELERY_QUEUE_PREFIX": f"{queue}-",
        "DB_CONN_MAX_AGE": "0",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(settings.EMAIL_PORT),
        "DNS_RESOLVER": dns_server.address,
        "CHECKER_CONNECT_TO": f"203.0.113.0/24=127.0.0.1:{web_host.port}",
        "CHECKER_ALLOW_PRIVATE_TARGETS": "true",
        "CHECK_INTERVAL_FIRST_DAY": "3600",  # one check per URL within the test
        "CHECK_SWEEP_INTERVAL": "1",
        "CHECK_CLAIM_TIMEOUT": "5",
        "CHECK_BATCH_SIZE": "4",
        "OUTBOX_SWEEP_INTERVAL": "1",
        "OUTBOX_CLAIM_TIMEOUT": "3",
        "OUTBOX_BATCH_SIZE": "3",
        "TRACE_SWEEP_INTERVAL": "1",
        "TRACE_SWEEP_GRACE": "2",
    }
    killed: dict[str, object] = {}
    mails_seen = Counter()

    def slow_server(path) -> None:  # each mail takes a moment: both hosts are mid-conversation often
        mails_seen["stored"] += 1
        time.sleep(0.15)
        if mails_seen["stored"] == 5:
            threading.Timer(0.05, kill_host_a).start()

    def kill_host_a() -> None:
        group = [host_a.pid] + [child.pid for child in psutil.Process(host_a.pid).children(recursive=True)]
        os.killpg(host_a.pid, signal.SIGKILL)
        killed.update(pids=group, at=time.monotonic())

    smtp_sink.on_stored = slow_server
    processes = Processes(env)
    _, key = create_api_key(scope="partner", partner=Partner.objects.create(name="Partner Hotline"))
    web = start_web(**{k: v for k, v in env.items() if k.isupper() and k not in os.environ})
    try:
        host_a = processes.worker("hostA")
        processes.worker("hostB")
        processes.beat("beat1")
        processes.beat("beat2")  # the second one, started by mistake
        intake = [
            request(
                web.port,
                "/api/v1/reports/",
                method="POST",
                body={"url": f"http://files.polder.example/r{n}.html"},
                headers={"Authorization": f"Bearer {key}"},
            )[0]
            for n in range(10)
        ]
        wait_until(lambda: killed, 60, "host A killed")
        held_by_a = list(
            OutgoingMessage.objects.filter(status="sending").values_list("pk", "claimed_by")
        )  # claims the dead host held (or had just finished)
        wait_until(
            lambda: OutgoingMessage.objects.filter(status="sent").count() == MAILS, 60, "every mail sent"
        )
        wait_until(
            lambda: Check.objects.filter(url_id__in=check_ids).values("url_id").distinct().count() == CHECKS,
            60,
            "every URL checked",
        )
        wait_until(
            lambda: (
                HostingTrace.objects.filter(url_id__in=trace_ids).values("url_id").distinct().count()
                == TRACES
            ),
            60,
            "every URL traced",
        )
        time.sleep(3)  # anything done twice would show now
    finally:
        processes.stop()
        web_host.stop()
        smtp_sink.on_stored = None

    assert intake == [201] * 10
    # Mails: each arrived; a copy sent again only after the kill, with the same Message-ID, and counted.
    arrived = Counter(mail["Message-ID"].strip() for mail in smtp_sink.messages())
    sent = dict(OutgoingMessage.objects.values_list("message_id", "duplicates"))
    assert set(arrived) == set(sent)
    assert {mid: count - 1 for mid, count in arrived.items() if count > 1} == {
        mid: dup for mid, dup in sent.items() if dup
    }
    assert OutgoingMessage.objects.aggregate(d=Sum("duplicates"))["d"] <= 1  # at most the one in doubt
    # The dead host's claims came back and were finished by host B.
    dead = {str(pid) for pid in killed["pids"]}
    for pk, holder in held_by_a:
        if holder.split(":")[1] in dead:
            message = OutgoingMessage.objects.get(pk=pk)
            assert message.status == "sent" and message.claimed_by.split(":")[1] not in dead
    # Checks and traces: exactly once per URL, two beats notwithstanding.
    per_url = Check.objects.filter(url_id__in=check_ids).values("url_id").annotate(n=Count("id"))
    assert sorted(row["n"] for row in per_url) == [1] * CHECKS
    traces = HostingTrace.objects.filter(url_id__in=trace_ids).values("url_id").annotate(n=Count("id"))
    assert sorted(row["n"] for row in traces) == [1] * TRACES
