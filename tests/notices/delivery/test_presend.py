"""The pre-send re-check through the real outbox and the local test DNS server: a URL whose host answers
from another provider's addresses just before its notice goes out is taken out of the mail and noticed to
its new provider; URLs that stay go out as rendered again; addresses rotating within the notice's provider
(another country of its own included) move nothing; a DNS failure moves nothing."""

from __future__ import annotations

import pytest
from django.utils import timezone

from notices.delivery.outbox import claim_due_messages
from notices.models import (
    AnalystAlert,
    Event,
    HostingTrace,
    Notice,
    NoticeItem,
    OutgoingMessage,
    RoutingPrefix,
)
from notices.services.delivery import send_claimed
from notices.services.notices import create_notices, queue_notice
from notices.services.presend import retrace_moved

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


def test_addresses_rotating_within_the_provider_move_nothing(world, smtp_sink):
    notice, stays, moves, gracht, dns = world
    dns.set_record("files.polder.example", "A", ["198.51.100.20", "198.51.100.21"])  # polder's own /25 still
    dns.set_record("moved.polder.example", "A", ["198.51.100.30"])

    assert send_all() == ["sent"]
    (mail,) = smtp_sink.messages()
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert mail["To"] == "abuse@polder.example"
    assert "files[.]polder[.]example" in body and "moved[.]polder[.]example" in body  # all its URLs
    attachments = [part.get_filename() for part in mail.iter_attachments()]
    assert len([name for name in attachments if name.endswith(".json")]) == 2
    assert sorted(OutgoingMessage.objects.get(notice=notice).url_ids) == sorted([stays.pk, moves.pk])
    assert NoticeItem.objects.filter(notice=notice, is_open=True, superseded_at=None).count() == 2
    assert Notice.objects.count() == 1 and not Notice.objects.filter(provider=gracht).exists()
    assert not Event.objects.filter(kind="url.moved_before_send").exists()
    assert not AnalystAlert.objects.exists()
    moves.refresh_from_db()  # traced again: the case's trace is where the host answers now
    assert (moves.current_trace.ip, moves.current_trace.provider_id) == ("198.51.100.30", notice.provider_id)
    assert send_all() == []  # nothing else queued


def test_only_another_provider_counts_as_moved(world):
    notice, stays, moves, gracht, dns = world
    dns.set_record("files.polder.example", "A", ["198.51.100.20"])  # rotated within polder
    dns.set_record("moved.polder.example", "A", ["203.0.113.7"])  # gracht's
    (message,) = OutgoingMessage.objects.filter(notice=notice)

    moved, retraced = retrace_moved(message, now=timezone.now())

    assert (list(moved), retraced) == ([moves.pk], True)
    assert moved[moves.pk].provider == gracht
    assert HostingTrace.objects.filter(url=stays).count() == 2  # traced again, stays in the notice


def test_the_same_provider_in_another_country_stays_and_is_recorded(world, smtp_sink):
    notice, _stays, moves, _gracht, dns = world
    RoutingPrefix.objects.create(
        prefix="198.51.100.64/26", source="registry", asn=64500, country="DE", provider=notice.provider
    )
    dns.set_record("moved.polder.example", "A", ["198.51.100.70"])  # polder's network in DE

    assert send_all() == ["sent"]
    body = smtp_sink.messages()[0].get_body(preferencelist=("plain",)).get_content()
    assert "moved[.]polder[.]example" in body
    assert NoticeItem.objects.filter(notice=notice, is_open=True, superseded_at=None).count() == 2
    assert Notice.objects.count() == 1
    (event,) = Event.objects.filter(url=moves, kind="url.country_changed")
    assert event.data["text"].startswith("Hosting country changed from NL to DE (address 198.51.100.70")
    (alert,) = AnalystAlert.objects.all()
    assert (alert.kind, alert.url_id, alert.notice_id) == ("country_changed", moves.pk, notice.pk)
    assert (
        "no notice has reached the provider yet, so the statistics will count the case in DE"
        in (event.data["text"])
    )
    moves.refresh_from_db()  # the notice went out with the content in DE: counted there
    assert (moves.current_trace.country, moves.country_at_notice) == ("DE", "DE")
