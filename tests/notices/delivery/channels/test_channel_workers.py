"""The proof, each channel end to end with a real Celery worker (and its beat) against the provider's local
mock: notice → outbox → channel → accepted → (AWS: status polling) → verification checks against the local
HTTP target → removal confirmed; the mock's 5xx and 429 answers are retried and each report is filed exactly
once.

Real PostgreSQL, broker, worker, DNS server and HTTP target (`DemoWeb`, the checker tests' host); time
settings are small, nothing sleeps for minutes and no clock is patched.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from notices.demo.web import DemoWeb
from notices.models import ChannelReport, Check, Event, Notice, Url
from tests.notices.delivery.channels.conftest import KEY

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

FILES, CDN = "files.polder.example", "cdn.polder.example"


def wait_until(predicate, *, timeout: float = 60, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def target(dns_server):
    """The local HTTP target: both hosts live, resolved to a documentation address the checker's
    connect-to map sends to the target."""
    web = DemoWeb()
    web.start()
    web.live_hosts.update({FILES, CDN})
    for host in (FILES, CDN):
        dns_server.set_record(host, "A", ["198.51.100.10"])
    yield web
    web.stop()


@pytest.fixture
def worker(start_worker, dns_server, target):
    return start_worker(
        beat=True,
        CHANNEL_CREDENTIALS_KEY=KEY,
        CHANNEL_ALLOW_PRIVATE_TARGETS="true",
        CHANNEL_POLL_SWEEP_INTERVAL=0.5,
        CHANNEL_POLL_INTERVAL=1,
        DNS_RESOLVER=dns_server.address,
        CHECKER_CONNECT_TO=f"198.51.100.0/24=127.0.0.1:{target.port}",
        OUTBOX_SWEEP_INTERVAL=0.5,
        OUTBOX_RETRY_BASE=1,
        REMOVAL_CONFIRMATIONS=2,
        REMOVAL_MIN_SPACING=1,
        CHECK_INTERVAL_FIRST_DAY=1,
        CHECK_SWEEP_INTERVAL=0.5,
    )


def removed(*urls) -> bool:
    return Url.objects.filter(pk__in=[u.pk for u in urls], status="removed").count() == len(urls)


def test_cloudflare_end_to_end_retries_file_once_and_removal_is_confirmed(
    cloudflare_provider, cloudflare_mock, make_case, make_notice, target, worker, now
):
    cloudflare_mock.script = [(503, {}), (429, {"Retry-After": "1"})]
    a = make_case(f"http://{FILES}/gallery/a.html", provider=cloudflare_provider, when=now)
    b = make_case(f"http://{FILES}/gallery/b.html", provider=cloudflare_provider, when=now)
    c = make_case(f"http://{CDN}/c.html", provider=cloudflare_provider, when=now)
    notice = make_notice(a, b, c, now=now)  # queued: the outbox message goes to the worker after commit

    sent = wait_until(lambda: Notice.objects.filter(pk=notice.pk, sent_at__isnull=False).first(), what="sent")
    reports = list(ChannelReport.objects.filter(notice=notice).order_by("position"))
    assert [(r.label, r.status) for r in reports] == [(CDN, "accepted"), (FILES, "accepted")]
    assert sent.sent_at == min(r.accepted_at for r in reports)  # first notice sent = accepted
    assert len(cloudflare_mock.reports) == 2  # one per hostname: the 503 and the 429 filed nothing twice
    assert sorted(r["urls"] for r in cloudflare_mock.reports.values()) == [
        f"http://{CDN}/c.html",
        f"http://{FILES}/gallery/a.html\nhttp://{FILES}/gallery/b.html",
    ]
    wait_until(
        lambda: Check.objects.filter(url__in=[a, b, c], outcome="live").count() >= 3, what="live checks"
    )

    for url in (a, b, c):  # Cloudflare passed the reports on; the host takes the content down
        target.take_down(url.host, url.canonical.split(url.host, 1)[1], status=404)
    wait_until(lambda: removed(a, b, c), what="removal confirmed")
    assert len(cloudflare_mock.reports) == 2
    events = list(Event.objects.filter(notice=notice).values_list("kind", flat=True))
    assert events.count("notice.delivery_retry") == 2
    assert events.count("notice.channel_accepted") == 2


def test_aws_end_to_end_status_polling_claims_removed_and_the_checker_confirms(
    aws_provider, aws_mock, make_case, make_notice, target, worker, now
):
    aws_mock.script = [("lost", 500), (429, {"Retry-After": "1"})]
    a = make_case(f"http://{FILES}/gallery/a.html", provider=aws_provider, when=now)
    aws_mock.on_completed = lambda report_id: target.take_down(FILES, "/gallery/a.html", status=404)
    notice = make_notice(a, now=now)

    sent = wait_until(lambda: Notice.objects.filter(pk=notice.pk, sent_at__isnull=False).first(), what="sent")
    (report,) = ChannelReport.objects.filter(notice=notice)
    assert report.status == "accepted" and report.remote_id in aws_mock.reports
    assert sent.sent_at == report.accepted_at
    assert len(aws_mock.reports) == 1  # the lost answer's retry carried the same client token
    assert len(aws_mock.posts()) == 3

    wait_until(lambda: removed(a), what="removal confirmed")
    report.refresh_from_db()
    assert (report.remote_status, report.reason_code, report.next_poll_at) == ("COMPLETED", "ACTIONED", None)
    statuses = [
        e.data["status"]
        for e in Event.objects.filter(notice=notice, kind="notice.channel_status").order_by("at")
    ]
    assert statuses == ["PROCESSING", "COMPLETED"]
    assert list(notice.responses.order_by("pk").values_list("action", flat=True)) == [
        "acknowledge",
        "removed",
    ]
    gone = Check.objects.filter(url=a, outcome="gone").order_by("checked_at")
    assert gone.count() >= 2  # the checker, not AWS's answer, confirmed it
    a.refresh_from_db()
    assert (
        a.removal_confirmed_at
        >= Event.objects.get(notice=notice, kind="notice.response", data__action="removed").at
    )


def test_aws_worker_killed_mid_request_files_exactly_once(
    aws_provider, aws_mock, make_case, make_notice, start_worker, now
):
    env = {
        "CHANNEL_CREDENTIALS_KEY": KEY,
        "CHANNEL_ALLOW_PRIVATE_TARGETS": "true",
        "CHANNEL_TIMEOUT": 60,
        "OUTBOX_CLAIM_TIMEOUT": 3,
        "OUTBOX_SWEEP_INTERVAL": 1,
    }
    aws_mock.script = [("hang", 30)]  # AWS files the report; its answer never reaches the first worker
    first = start_worker(**env)
    notice = make_notice(
        make_case(f"http://{FILES}/gallery/a.html", provider=aws_provider, when=now), now=now
    )
    wait_until(lambda: len(aws_mock.reports) == 1, what="the report filed at AWS")

    os.killpg(first.pid, signal.SIGKILL)  # gone mid-request: the claim stays until it expires
    first.wait(10)
    start_worker(beat=True, **env)  # beat's outbox sweep takes the expired claim; the same client token
    wait_until(lambda: Notice.objects.filter(pk=notice.pk, sent_at__isnull=False).exists(), what="sent")
    (report,) = ChannelReport.objects.filter(notice=notice)
    assert list(aws_mock.reports) == [report.remote_id]  # one report at AWS, the one we store
    assert len(aws_mock.posts()) == 2
    assert notice.messages.get().attempts == 2
