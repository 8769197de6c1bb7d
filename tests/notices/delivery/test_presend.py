"""The pre-send re-check through the real outbox and the local test DNS server: a URL whose host answers
from other addresses than its trace just before its notice goes out is taken out of the mail and noticed to
its new provider; URLs that stay go out as rendered again; a DNS failure moves nothing."""

from __future__ import annotations

import pytest
from django.utils import timezone

from notices.delivery.outbox import claim_due_messages
from notices.models import Event, Notice, NoticeItem, OutgoingMessage
from notices.services.delivery import send_claimed
from notices.services.notices import create_notices, queue_notice

pytestmark = pytest.mark.django_db

STAYS, MOVES = "http://files.polder.example/stays.html", "http://moved.polder.example/moves.html"


@pytest.fixture
def world(make_case, make_provider, provider, dns_server, settings):
    settings.PRESEND_RECHECK = True
    gracht = make_provider("gracht", country="NL", prefix="203.0.113.0/24", asn=64502)
    now = timezone.now()
    stays = make_case(STAYS, provider=provider, when=now)
    moves = make_case(MOVES, provider=provider, when=now)
    dns_server.set_record("files.polder.example", "A", ["198.51.100.10"])  # as traced
    (notice,) = create_notices(urls=[stays, moves], notice_type="hotline_notice", now=now)
    notice = queue_notice(notice=notice, now=now)
    return notice, stays, moves, gracht, dns_server


def send_all() -> list[str]:
    return [send_claimed(pk) for pk in claim_due_messages(now=timezone.now(), limit=10)]


def test_a_url_that_moved_goes_to_its_new_provider_instead(world, smtp_sink):
    notice, stays, moves, gracht, dns = world
    dns.set_record("moved.polder.example", "A", ["203.0.113.7"])  # moved since the trace

    assert send_all() == ["sent"]
    (first,) = smtp_sink.messages()
    body = first.get_body(preferencelist=("plain",)).get_content()
    assert first["To"] == "abuse@polder.example"
    assert "files[.]polder[.]example" in body and "moved[.]polder[.]example" not in body
    attachments = [part.get_filename() for part in first.iter_attachments()]
    assert len([name for name in attachments if name.endswith(".json")]) == 1  # one X-ARF: the URL that stays
    assert list(NoticeItem.objects.filter(notice=notice, is_open=True).values_list("url_id", flat=True)) == [
        stays.pk
    ]
    new = Notice.objects.get(provider=gracht)
    assert (new.status, [i.url_id for i in new.items.all()]) == ("queued", [moves.pk])
    moved = NoticeItem.objects.get(notice=notice, url=moves)
    assert moved.superseded_reason == "moved_before_send" and moved.superseded_at is not None
    assert NoticeItem.objects.get(notice=notice, url=stays).superseded_at is None
    (event,) = Event.objects.filter(url=moves, kind="url.moved_before_send")
    assert event.data["text"].startswith(f"Re-checked just before notice {notice.reference} went out")

    assert send_all() == ["sent"]  # the new provider's notice, re-checked too: it stays
    assert smtp_sink.messages()[-1]["To"] == "abuse@gracht.example"


def test_every_url_moved_calls_the_mail_off(
    make_case, provider, make_provider, dns_server, settings, smtp_sink
):
    settings.PRESEND_RECHECK = True
    make_provider("gracht", country="NL", prefix="203.0.113.0/24", asn=64502)
    moves = make_case(MOVES, provider=provider, when=timezone.now())
    dns_server.set_record("moved.polder.example", "A", ["203.0.113.7"])
    (notice,) = create_notices(urls=[moves], notice_type="hotline_notice", now=timezone.now())
    queue_notice(notice=notice, now=timezone.now())
    (message,) = OutgoingMessage.objects.all()

    assert send_claimed(claim_due_messages(now=timezone.now(), limit=1)[0]) == "cancelled"
    message.refresh_from_db()
    assert (message.status, message.last_error) == ("cancelled", "cancelled: every URL moved before sending")
    assert send_all() == ["sent"]
    assert [m["To"] for m in smtp_sink.messages()] == ["abuse@gracht.example"]


def test_no_dns_answer_moves_nothing(world, smtp_sink):
    notice, _stays, _moves, gracht, _dns = world  # moved.polder.example is not in the zone: NXDOMAIN
    assert send_all() == ["sent"]
    assert NoticeItem.objects.filter(notice=notice, is_open=True).count() == 2
    assert not Notice.objects.filter(provider=gracht).exists()
