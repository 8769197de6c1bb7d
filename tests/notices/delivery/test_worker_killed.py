"""A worker killed with SIGKILL in the middle of an SMTP delivery: nothing lost, nothing sent twice."""

from __future__ import annotations

import os
import signal
import time

import pytest

from notices.models import OutgoingMessage
from notices.services.notices import create_notices, queue_notice

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def wait_until(predicate, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_worker_killed_mid_send_delivers_exactly_once(
    start_worker, make_case, provider, smtp_sink, now, settings
):
    smtp_sink.mode = "hang"  # the first delivery hangs inside the SMTP transaction
    worker_env = {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": settings.EMAIL_PORT,
        "OUTBOX_CLAIM_TIMEOUT": 3,
        "OUTBOX_SWEEP_INTERVAL": 1,
        "EMAIL_TIMEOUT": 60,
    }
    first = start_worker(**worker_env)
    case = make_case("http://files.polder.example/a.html", provider=provider, when=now)
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=now)
    queue_notice(notice=notice, now=now)  # the delivery task is enqueued after commit
    message = wait_until(lambda: OutgoingMessage.objects.filter(notice=notice, status="sending").first())

    os.killpg(first.pid, signal.SIGKILL)  # worker gone mid-send: the claim stays until it expires
    first.wait(10)
    smtp_sink.mode = "accept"
    start_worker(beat=True, **worker_env)  # beat's outbox sweep takes the expired claim

    wait_until(lambda: OutgoingMessage.objects.filter(pk=message.pk, status="sent").exists())
    mails = smtp_sink.wait_for(1, timeout=10)
    time.sleep(2)  # a second mail, if any, would arrive now
    assert len(smtp_sink.messages()) == 1
    assert mails[0]["Message-ID"].strip() == message.message_id
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    notice.refresh_from_db()
    assert notice.status == "sent"
