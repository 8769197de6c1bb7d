"""A withdrawn notice's mail never leaves after the withdrawal: pending mail is cancelled, a claimed one is
not sent, one made after the withdrawal is cancelled at its send, and a withdrawal waits for a send under
way — against a real SMTP server and, for the race, two database connections."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from notices.delivery.outbox import CANCELLED, abuse_recipients, claim_due_messages, enqueue_notice_messages
from notices.models import Event, OutgoingMessage
from notices.selectors.dashboard import queue_counts
from notices.services.delivery import send_claimed
from notices.services.lifecycle import withdraw


def refreshed(*objects):
    for obj in objects:
        obj.refresh_from_db()
    return objects


def kinds(notice) -> list[str]:
    return list(Event.objects.filter(notice=notice).order_by("pk").values_list("kind", flat=True))


@pytest.mark.django_db
def test_pending_mail_of_a_withdrawn_notice_is_cancelled_and_never_claimed(smtp_sink, queued, now):
    notice, message, case = queued

    withdraw(notices=[notice], reason="sent_in_error", now=now)

    notice, message, case = refreshed(notice, message, case)
    assert (message.status, message.last_error, message.next_attempt_at) == ("cancelled", CANCELLED, None)
    assert claim_due_messages(now=now + timedelta(days=1), limit=10) == []
    assert smtp_sink.messages() == []
    assert (notice.status, notice.sent_at, case.status) == ("withdrawn", None, "assessed")
    assert queue_counts(now=now)["failed_mail"] == 0  # cancelled is not a delivery problem


@pytest.mark.django_db
def test_mail_claimed_before_the_withdrawal_is_not_sent(smtp_sink, queued, now):
    notice, message, _ = queued
    (claimed,) = claim_due_messages(now=now, limit=10)

    withdraw(notices=[notice], reason="wrong_provider", now=now)
    status = send_claimed(claimed)

    (message,) = refreshed(message)
    assert (status, message.status, message.last_error) == ("cancelled", "cancelled", CANCELLED)
    assert smtp_sink.messages() == []
    assert kinds(notice) == ["notice.created", "notice.queued", "notice.withdrawn"]


@pytest.mark.django_db
def test_mail_made_after_the_withdrawal_is_cancelled_when_its_turn_comes(smtp_sink, queued, now):
    notice, _, _ = queued
    withdraw(notices=[notice], reason="sent_in_error", now=now)
    # A mail of the notice written while the withdrawal committed (e.g. a re-send).
    (reminder,) = enqueue_notice_messages(
        notices=[notice], now=now, recipients=abuse_recipients([notice.provider_id])
    )

    (claimed,) = claim_due_messages(now=now, limit=10)
    status = send_claimed(claimed)

    notice, reminder = refreshed(notice, reminder)
    assert (claimed, status) == (reminder.pk, "cancelled")
    assert (reminder.status, reminder.last_error, reminder.next_attempt_at) == ("cancelled", CANCELLED, None)
    assert smtp_sink.messages() == []
    assert notice.status == "withdrawn"  # not failed: nothing was wrong with the delivery
    assert kinds(notice) == ["notice.created", "notice.queued", "notice.withdrawn"]  # no failure, no alert


def _locked_by_another_connection(message_id: int) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT 1 FROM {OutgoingMessage._meta.db_table} WHERE id = %s FOR UPDATE NOWAIT",
                [message_id],
            )
    except OperationalError:
        return True
    return False


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_a_withdrawal_waits_for_a_send_under_way_and_no_retry_follows(
    smtp_sink, make_case, provider, settings
):
    from notices.services.notices import create_notices, queue_notice

    now = timezone.now()
    settings.EMAIL_TIMEOUT = 30
    smtp_sink.mode, smtp_sink.hang_seconds = "hang", 2.5  # then a temporary refusal: a retry, were it kept
    case = make_case(provider=provider, when=now)
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=now)
    notice = queue_notice(notice=notice, now=now)
    (claimed,) = claim_due_messages(now=now, limit=10)

    def send() -> None:
        try:
            send_claimed(claimed)
        finally:
            connection.close()

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 20
    while not _locked_by_another_connection(claimed):  # the sender is in its SMTP conversation
        assert time.monotonic() < deadline, "the sender never took the message's lock"
        time.sleep(0.05)
    started = time.monotonic()
    withdraw(notices=[notice], reason="sent_in_error", now=now)
    waited = time.monotonic() - started
    sender.join(30)

    message = OutgoingMessage.objects.get(pk=claimed)
    assert waited > 1.0  # it waited for the send under way, and only then cancelled
    assert (message.status, message.last_error, message.next_attempt_at) == ("cancelled", CANCELLED, None)
    assert claim_due_messages(now=now + timedelta(days=1), limit=10) == []
    assert smtp_sink.messages() == []
    assert kinds(notice) == ["notice.created", "notice.queued", "notice.withdrawn"]
