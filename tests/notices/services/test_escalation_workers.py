"""Whole ladders with real Celery workers, the real outbox and a real SMTP server: each step's mail arrives
once at its time, and two workers sweeping at once take nothing twice."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from celery import current_app
from django.db import transaction

from notices.models import Escalation, HostingTrace, OutgoingMessage, Partner, RoutingPrefix, StepRun, Url
from notices.services.escalation import sweep
from notices.services.notices import create_notices, mark_notice_sent, queue_notice

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("default_policies")]

H = timedelta(hours=1)


def wait_until(predicate, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def notice_sent_at(cases, at):
    """A notice for `cases`, queued and counted as sent at `at` (in the past), in one transaction: the
    worker that delivers its mail after commit finds it sent already, so the ladder counts from `at`."""
    with transaction.atomic():
        (notice,) = create_notices(urls=list(cases), notice_type="hotline_notice", now=at)
        notice = queue_notice(notice=notice, now=at)
        mark_notice_sent(notice=notice, at=at)
    notice.refresh_from_db()
    return notice


@pytest.mark.timeout(180)
def test_whole_ladder_with_a_real_worker_and_the_real_outbox(
    start_worker, dns_server, make_case, provider, smtp_sink, now
):
    dns_server.set_record("files.polder.example", "A", ["198.51.100.10"])
    RoutingPrefix.objects.create(
        prefix="198.51.100.0/24",
        source="routing",
        asn=64496,
        org_name="Example Transit AS",
        abuse_emails=["abuse@transit.example"],
    )
    start_worker(
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=smtp_sink.port,
        ANALYST_ALERT_EMAILS="duty@hotline.example",
        DNS_RESOLVER=dns_server.address,
    )
    start = now - 8 * 24 * H  # every step's time has passed in real time: the outbox sends at once
    case = make_case(provider=provider, when=start)  # assessing it queues a trace: the worker runs it
    wait_until(
        lambda: HostingTrace.objects.filter(url=case, sources__contains=[{"source": "routing"}]).exists()
    )
    notice = notice_sent_at([case], start)
    Partner.objects.create(
        name="Meldpunt NL", country="NL", receives_handoffs=True, handoff_email="handoff@meldpunt.example"
    )

    taken = []
    for at in (start, start + 24 * H - timedelta(seconds=1), start + 24 * H, start + 48 * H, start + 72 * H):
        taken.append(sweep(now=at))
    taken.append(sweep(now=start + 7 * 24 * H))

    assert taken == [0, 0, 1, 2, 3, 3]
    mails = smtp_sink.wait_for(8, timeout=60)
    got = Counter((m["X-Sink-Rcpt-To"], m["Subject"].split("] ")[0] + "]") for m in mails)
    ref = notice.reference
    assert got == Counter(
        {
            ("abuse@polder.example", f"[{ref}]"): 1,  # the notice
            ("abuse@polder.example", f"Reminder 1: [{ref}]"): 1,
            ("abuse@polder.example", f"Reminder 2: [{ref}]"): 1,
            ("abuse@polder.example", f"Reminder 3: [{ref}]"): 1,
            ("abuse@polder.example", f"Reminder 7: [{ref}]"): 1,  # the sweep at 7 days: the latest only
            ("duty@hotline.example", f"[{ref}]"): 1,  # the analyst alert at 48 h
            ("abuse@transit.example", f"[{ref}]"): 1,
            ("handoff@meldpunt.example", f"[{ref}]"): 1,
        }
    )
    wait_until(lambda: not StepRun.objects.filter(notice=notice, status="queued").exists())
    assert list(StepRun.objects.filter(notice=notice).order_by("pk").values_list("action", "status")) == [
        ("repeat_notice", "done"),
        ("repeat_notice", "done"),
        ("analyst_alert", "done"),
        ("repeat_notice", "done"),
        ("upstream_notice", "done"),
        ("partner_handoff", "done"),
        ("repeat_notice", "done"),
        ("refer_law_enforcement", "done"),
        ("refer_dsc", "done"),
    ]
    assert OutgoingMessage.objects.filter(notice=notice).exclude(status="sent").count() == 0
    time.sleep(2)  # nothing more arrives: no step is sent twice
    assert len(smtp_sink.messages()) == 8


@pytest.mark.timeout(180)
def test_two_workers_sweeping_at_once_take_nothing_twice(
    start_worker, make_case, provider, other_provider, smtp_sink, now
):
    env = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": smtp_sink.port, "ESCALATION_BATCH_SIZE": 4}
    start_worker(**env)
    start_worker(**env)
    start = now - 25 * H  # the first repeat is due
    notices = []
    for n in range(12):
        owner = provider if n % 2 else other_provider
        host = "files.polder.example" if n % 2 else "cdn.balkan.example"
        cases = [
            make_case(f"http://{host}/{n}/{k}.html", provider=owner, when=start) for k in range(1 + n % 3)
        ]
        notices.append(notice_sent_at(cases, start))
    cases = Url.objects.filter(status="notified")
    assert cases.count() == 24

    with current_app.producer_or_acquire() as producer:
        for _ in range(20):
            current_app.send_task("notices.sweep_escalations", producer=producer)

    wait_until(lambda: not cases.filter(next_escalation_at__lte=now).exists(), timeout=90)
    wait_until(lambda: OutgoingMessage.objects.filter(run__isnull=False, status="sent").count() >= 12)
    time.sleep(2)

    runs = StepRun.objects.all()
    assert sorted(runs.values_list("notice_id", "action", "occurrence")) == sorted(
        (notice.pk, "repeat_notice", 1) for notice in notices
    )
    assert Escalation.objects.count() == 24
    assert sorted(Escalation.objects.values_list("url_id", flat=True)) == sorted(
        cases.values_list("pk", flat=True)
    )
    repeats = Counter(
        m["Subject"].split("] ")[0] for m in smtp_sink.messages() if m["Subject"].startswith("Rem")
    )
    assert repeats == Counter({f"Reminder 1: [{notice.reference}": 1 for notice in notices})
    assert OutgoingMessage.objects.filter(run__isnull=False).count() == 12
    for notice in notices:  # however the batches split a notice's cases, its repeat names them all
        (mail,) = OutgoingMessage.objects.filter(run__notice=notice)
        assert mail.url_ids == sorted(notice.items.values_list("url_id", flat=True))
