"""The whole path once, for real: report → assessment → trace (DNS) → notice over SMTP → portal answer →
checks by Celery beat and a worker → removal confirmed → time-to-removal statistics.

Real PostgreSQL, a real Celery worker with embedded beat on the real broker, a real SMTP server, a real DNS
server and a real HTTP server whose page is taken down mid-test. Time settings are small; nothing sleeps for
minutes and no clock is patched.
"""

from __future__ import annotations

import csv
import io
import time

import pytest
from django.test import Client

from notices.demo.web import DemoWeb
from notices.models import Check, HostingTrace, ProviderMembership, Url

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

HOST = "files.polder.example"
URL = f"http://{HOST}/gallery/7f3a9c/index.html"


def wait_until(predicate, *, timeout: float = 30, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def demo_web():
    web = DemoWeb()
    web.start()
    web.live_hosts.add(HOST)
    yield web
    web.stop()


@pytest.fixture
def portal_user(provider, django_user_model):
    user = django_user_model.objects.create_user("polder-desk", password="polder-pass-123")
    ProviderMembership.objects.create(user=user, provider=provider)
    return user


def test_report_to_measured_time_to_removal(
    start_worker, partner_api, staff_api, provider, portal_user, smtp_sink, dns_server, demo_web, settings
):
    dns_server.set_record(HOST, "A", ["198.51.100.10"])
    start_worker(
        beat=True,
        DNS_RESOLVER=dns_server.address,
        CHECKER_CONNECT_TO=f"198.51.100.0/24=127.0.0.1:{demo_web.port}",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=settings.EMAIL_PORT,
        REMOVAL_CONFIRMATIONS=2,
        REMOVAL_MIN_SPACING=1,
        CHECK_INTERVAL_FIRST_DAY=1,
        CHECK_SWEEP_INTERVAL=0.5,
        OUTBOX_SWEEP_INTERVAL=1,
    )

    # 1. A partner reports the URL; it becomes a case.
    report = partner_api.post("/api/v1/reports/", {"url": URL}, format="json")
    assert report.status_code == 201
    url_id = report.json()["url"]["id"]

    # 2. An analyst assesses it; the worker traces it through the DNS server and the prefix table.
    assessed = staff_api.post(
        f"/api/v1/urls/{url_id}/assess/",
        {"legality": "illegal_international", "classification": "A1"},
        format="json",
    )
    assert assessed.status_code == 201
    trace = wait_until(lambda: HostingTrace.objects.filter(url_id=url_id).first(), what="the trace")
    assert (trace.ip, trace.provider_id, trace.country, trace.asn) == (
        "198.51.100.10",
        provider.pk,
        "NL",
        64500,
    )
    assert trace.abuse_emails == ["abuse@polder.example"]

    # 3. A notice goes through the outbox to the abuse contact over SMTP.
    created = staff_api.post("/api/v1/notices/", {"urls": [url_id], "send": True}, format="json")
    assert created.status_code == 201
    reference = created.json()[0]["reference"]
    (mail,) = smtp_sink.wait_for(1, timeout=20)
    assert reference in mail["Subject"]
    assert mail["To"] == "abuse@polder.example"
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "hxxp://files[.]polder[.]example/gallery/7f3a9c/index.html" in body
    assert URL not in body
    assert f"/portal/notices/{reference}/" in body
    attachments = {part.get_filename(): part.get_content() for part in mail.iter_attachments()}
    rows = list(csv.DictReader(io.StringIO(attachments[f"urls-{reference}.csv"])))
    assert [row["url"] for row in rows] == [URL]
    case = wait_until(
        lambda: Url.objects.filter(pk=url_id, first_notice_sent_at__isnull=False).first(), what="sent"
    )
    wait_until(lambda: Check.objects.filter(url_id=url_id, outcome="live").exists(), what="a live check")

    # 4. The provider signs in to the portal, sees only its notice, acknowledges and says "removed".
    portal = Client()
    assert portal.login(username="polder-desk", password="polder-pass-123")
    assert reference in portal.get("/portal/").content.decode()
    assert portal.post(f"/portal/notices/{reference}/", {"action": "acknowledge"}).status_code == 302
    demo_web.take_down(HOST, "/gallery/7f3a9c/index.html", status=404, after=1.0)
    assert portal.post(f"/portal/notices/{reference}/", {"action": "removed"}).status_code == 302

    # 5. Beat and the worker re-check until K=2 gone observations at least M=1 s apart confirm the removal.
    case = wait_until(
        lambda: Url.objects.filter(pk=url_id, status="removed").first(), timeout=60, what="removal"
    )
    checks = list(Check.objects.filter(url_id=url_id).order_by("checked_at"))
    last_live = max(c.checked_at for c in checks if c.outcome == "live")
    first_gone = min(c.checked_at for c in checks if c.outcome == "gone" and c.checked_at > last_live)
    assert (case.removed_low, case.removed_high) == (last_live, first_gone)
    assert case.ttr_low == int((last_live - case.first_notice_sent_at).total_seconds())
    assert case.ttr_high == int((first_gone - case.first_notice_sent_at).total_seconds())
    assert all(c.status_code == 404 for c in checks if c.outcome == "gone")

    # 6. Statistics give count and median as {low, high}.
    stats = staff_api.get("/api/v1/stats/time-to-removal/?group_by=provider").json()
    (group,) = stats["groups"]
    assert (group["key"], group["count"], group["removed"]) == ("polder", 1, 1)
    assert group["median"] == {"low": case.ttr_low, "high": case.ttr_high}
