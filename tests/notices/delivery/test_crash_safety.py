"""The outbox under a worker crash: a worker SIGKILLed after the SMTP server accepted a mail and before
anything was committed; a worker that recorded the acceptance and died before the bookkeeping; a dead
worker's claim taken over within its lease, a live one's renewed by its heartbeat. Nothing is lost, a copy
sent again is the same mail and is counted, the provider sees the notice at once, and first-notice time is
the first acceptance (never later, so time-to-removal is never under-stated)."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from notices.delivery import outbox
from notices.delivery.outbox import attempt_claimed, claim_due_messages
from notices.infra import claims
from notices.models import OutgoingMessage, Url
from notices.selectors.notices import notices_for_provider
from notices.services.delivery import send_claimed
from notices.services.notices import create_notices, queue_notice


def wait_until(predicate, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def another_process(monkeypatch) -> None:
    """From here on this test process claims under a new name, as a second worker would: the claims made so
    far belong to a worker that is gone."""
    monkeypatch.setattr(claims, "_OWNER", None)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_worker_killed_after_the_server_accepted_sends_the_same_mail_once_more_counted_and_timed_first(
    start_worker, make_case, provider, smtp_sink, now, settings, provider_api
):
    worker_env = {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": settings.EMAIL_PORT,
        "OUTBOX_CLAIM_TIMEOUT": 3,
        "OUTBOX_SWEEP_INTERVAL": 1,
    }
    first = start_worker(**worker_env)
    stored_at = []

    def kill_the_sender(path) -> None:  # the server holds the mail; its sender never hears "250"
        stored_at.append(timezone.now())
        smtp_sink.on_stored = None
        os.killpg(first.pid, signal.SIGKILL)

    smtp_sink.on_stored = kill_the_sender
    case = make_case("http://files.polder.example/a.html", provider=provider, when=now)
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=now)
    queue_notice(notice=notice, now=now)
    smtp_sink.wait_for(1, timeout=20)
    first.wait(10)
    killed_at = time.monotonic()

    # The provider may hold the mail: the notice is theirs to see, in the API (and so its links work).
    message = OutgoingMessage.objects.get(notice=notice)
    assert (message.status, message.sent_at) == ("sending", None)
    assert message.in_doubt_since is not None and message.in_doubt_since <= stored_at[0]
    assert list(notices_for_provider(provider)) == [notice]
    assert provider_api.get(f"/api/v1/provider/notices/{notice.reference}/").status_code == 200

    start_worker(beat=True, **worker_env)  # a second worker's sweep takes the dead claim over
    mails = smtp_sink.wait_for(2, timeout=20)
    assert time.monotonic() - killed_at < 15  # seconds (one lease), not the ten minutes of old
    wait_until(lambda: OutgoingMessage.objects.filter(pk=message.pk, status="sent").exists())
    time.sleep(1.5)  # a third copy, if any, would arrive now
    assert len(smtp_sink.messages()) == 2
    assert {mail["Message-ID"].strip() for mail in mails} == {message.message_id}
    message.refresh_from_db()
    notice.refresh_from_db()
    case.refresh_from_db()
    assert (message.status, message.duplicates, message.attempts, message.in_doubt_since) == (
        "sent",
        1,
        2,
        None,
    )
    # First notice sent = when the first copy may have been accepted, not the second send.
    assert message.sent_at == notice.sent_at == case.first_notice_sent_at
    assert notice.sent_at <= stored_at[0]
    assert notice.status == "sent"


def test_acceptance_recorded_then_worker_dies_is_recorded_by_the_next_worker_never_sent_again(
    smtp_sink, queued, now, monkeypatch, settings
):
    notice, message, case = queued
    assert claim_due_messages(now=now, limit=10) == [message.pk]
    attempt = attempt_claimed(message.pk)  # steps 1 and 2; the worker dies before recording it
    assert attempt.status == "sent"
    message.refresh_from_db()
    assert (message.status, message.sent_at) == ("sending", attempt.at)
    assert list(notices_for_provider(notice.provider)) == [notice]  # the provider has it: visible

    another_process(monkeypatch)
    later = now + timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT - 1)
    assert claim_due_messages(now=later, limit=10) == []  # its lease still runs
    takeover = now + timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT + 1)
    assert claim_due_messages(now=takeover, limit=10) == [message.pk]
    assert send_claimed(message.pk) == "sent"

    assert len(smtp_sink.messages()) == 1
    message.refresh_from_db()
    notice.refresh_from_db()
    case.refresh_from_db()
    assert (message.status, message.duplicates, message.sent_at) == ("sent", 0, attempt.at)
    assert notice.sent_at == case.first_notice_sent_at == attempt.at  # the acceptance, not the takeover


def test_attempt_left_in_doubt_is_sent_again_counted_and_timed_from_the_doubt(
    smtp_sink, queued, now, monkeypatch, settings
):
    notice, message, case = queued
    assert claim_due_messages(now=now, limit=10) == [message.pk]
    message = OutgoingMessage.objects.get(pk=message.pk)
    assert outbox._mark_in_doubt(message)  # handed over; the worker dies before the answer
    doubt = OutgoingMessage.objects.get(pk=message.pk).in_doubt_since
    assert list(notices_for_provider(notice.provider)) == [notice]

    another_process(monkeypatch)
    takeover = now + timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT + 1)
    assert [send_claimed(pk) for pk in claim_due_messages(now=takeover, limit=10)] == ["sent"]

    (mail,) = smtp_sink.messages()
    assert mail["Message-ID"].strip() == message.message_id
    message.refresh_from_db()
    case.refresh_from_db()
    assert (message.duplicates, message.sent_at, case.first_notice_sent_at) == (1, doubt, doubt)


def test_failed_answer_after_an_earlier_doubt_keeps_the_doubt(smtp_sink, queued, now, monkeypatch, settings):
    """A definite refusal ends this attempt's doubt, never an earlier one's: that copy may still be out."""
    notice, message, _ = queued
    claim_due_messages(now=now, limit=10)
    outbox._mark_in_doubt(OutgoingMessage.objects.get(pk=message.pk))
    doubt = OutgoingMessage.objects.get(pk=message.pk).in_doubt_since
    another_process(monkeypatch)
    smtp_sink.mode, smtp_sink.fail_stage = "tempfail", "data"
    takeover = now + timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT + 1)
    assert [send_claimed(pk) for pk in claim_due_messages(now=takeover, limit=10)] == ["pending"]
    message.refresh_from_db()
    assert (message.status, message.in_doubt_since, message.duplicates) == ("pending", doubt, 0)
    assert list(notices_for_provider(notice.provider)) == []  # no attempt under way: not sending


def test_refused_first_attempt_clears_its_own_doubt(smtp_sink, queued, now):
    _, message, _ = queued
    smtp_sink.mode, smtp_sink.fail_stage = "tempfail", "data"
    assert [send_claimed(pk) for pk in claim_due_messages(now=now, limit=10)] == ["pending"]
    message.refresh_from_db()
    assert (message.status, message.in_doubt_since) == ("pending", None)


def test_claim_names_its_worker_and_the_heartbeat_renews_only_its_own(queued, now, monkeypatch, settings):
    _, message, _ = queued
    assert claim_due_messages(now=now, limit=10) == [message.pk]
    message.refresh_from_db()
    assert message.claimed_by == claims.owner()
    assert message.claimed_until == now + timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT)
    table = OutgoingMessage._meta.db_table
    lease = timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT)
    later = now + timedelta(seconds=20)
    assert claims.renew_leases(table=table, lease=lease, holder="elsewhere:1:x", now=later) == 0
    assert claims.renew_leases(table=table, lease=lease, holder=claims.owner(), now=later) == 1
    message.refresh_from_db()
    assert message.claimed_until == later + lease
    another_process(monkeypatch)  # a second worker cannot take a lease its holder keeps renewing
    assert claim_due_messages(now=later + lease - timedelta(seconds=1), limit=10) == []


def test_message_taken_over_is_not_recorded_by_its_old_worker(smtp_sink, queued, now, monkeypatch, settings):
    """The old worker comes back to life after its claim was taken over: it may not send or record."""
    _, message, _ = queued
    claim_due_messages(now=now, limit=10)
    old_owner = claims.owner()
    another_process(monkeypatch)
    claim_due_messages(now=now + timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT + 1), limit=10)
    monkeypatch.setattr(claims, "_OWNER", (os.getpid(), old_owner))
    attempt = attempt_claimed(message.pk)
    assert (attempt.changed, smtp_sink.messages()) == (False, [])
    assert Url.objects.filter(first_notice_sent_at__isnull=False).count() == 0
