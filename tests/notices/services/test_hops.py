"""A hop acted on: the content of a noticed case answers from another provider now; the old notice is
superseded (an event, a mail to the old provider in its language through the outbox, never naming the new
one), the new provider is noticed, and the old provider's time is kept out of the statistics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notices.delivery.outbox import claim_due_messages
from notices.models import AnalystAlert, Event, HostingTrace, Notice, NoticeItem, OutgoingMessage, Url
from notices.services.delivery import send_claimed
from notices.services.hops import act_on_hop
from notices.services.notices import create_notices, mark_notice_sent, queue_notice
from notices.services.routing import hosting_country

pytestmark = pytest.mark.django_db

SUPERSEDED = {
    "en": "The notice is superseded for it",
    "de": "Die Meldung ist dafür gegenstandslos",
    "nl": "De melding is daarvoor vervallen",
    "fr": "La notification est caduque pour ces contenus",
}


def hopped(case, provider, at, country=None):
    trace = HostingTrace.objects.create(
        url=case,
        traced_at=at,
        host=case.host,
        ips=["203.0.113.7"],
        ip="203.0.113.7",
        provider=provider,
        country=country or provider.country,
        asn=64502,
        sources=[],
        is_hop=True,
    )
    Url.objects.filter(pk=case.pk).update(current_trace=trace, provider=provider)
    return trace


@pytest.mark.parametrize("language", ["en", "de", "nl", "fr"])
def test_hop_supersedes_the_old_notice_and_notices_the_new_provider(
    make_case, make_provider, smtp_sink, language
):
    start = (timezone.now() - timedelta(days=2)).replace(microsecond=0)
    old_provider = make_provider("polder", language=language)
    new_provider = make_provider("gracht", country="NL", prefix="203.0.113.0/24", asn=64502)
    case = make_case(provider=old_provider, when=start)
    (old,) = create_notices(urls=[case], notice_type="hotline_notice", now=start)
    old = queue_notice(notice=old, now=start)
    OutgoingMessage.objects.filter(notice=old).update(status="sent")
    mark_notice_sent(notice=old, at=start)
    assert Url.objects.get(pk=case.pk).provider_at_notice_id == old_provider.pk

    hopped(case, new_provider, start + timedelta(hours=30))
    new = act_on_hop(url_id=case.pk, now=start + timedelta(hours=30))

    assert (new.provider, new.status) == (new_provider, "queued")
    assert list(NoticeItem.objects.filter(url=case, is_open=True).values_list("notice_id", flat=True)) == [
        new.pk
    ]
    case.refresh_from_db()
    assert (case.first_notice_sent_at, case.provider_at_notice_id) == (None, None)  # the old time is out
    texts = [e.data["text"] for e in Event.objects.filter(url=case, kind="url.superseded")]
    assert texts == [
        f"Notice {old.reference} superseded for this case: the content answers from another network now "
        "(203.0.113.7). Polder Hosting is told by mail (abuse@polder.example)."
    ]
    assert Event.objects.filter(notice=old, kind="notice.superseded").count() == 1

    for message_id in claim_due_messages(now=timezone.now(), limit=10):
        assert send_claimed(message_id) == "sent"
    by_recipient = {m["To"]: m for m in smtp_sink.messages()}
    told = by_recipient["abuse@polder.example"]
    body = told.get_body(preferencelist=("plain",)).get_content()
    assert SUPERSEDED[language] in body
    assert "gracht" not in body.lower() and "gracht" not in told["Subject"].lower()  # never named
    assert "abuse@gracht.example" in by_recipient  # the new provider's notice went out
    case.refresh_from_db()
    assert (case.provider_at_notice_id, case.status) == (new_provider.pk, "notified")


def test_no_hop_or_same_provider_does_nothing_and_a_failing_new_notice_alerts(make_case, make_provider, now):
    old_provider = make_provider("polder")
    case = make_case(provider=old_provider, when=now)
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=now)
    mark_notice_sent(notice=queue_notice(notice=notice, now=now), at=now)
    assert act_on_hop(url_id=case.pk, now=now) is None  # the trace is no hop

    hopped(case, old_provider, now)  # a new address, the same provider, the same country
    assert act_on_hop(url_id=case.pk, now=now) is None
    assert Notice.objects.count() == 1
    assert not Event.objects.filter(kind="url.country_changed").exists()
    assert not AnalystAlert.objects.exists()

    mute = make_provider("mute", country="NL", prefix="203.0.113.0/24")
    mute.contacts.all().delete()
    hopped(case, mute, now)
    assert act_on_hop(url_id=case.pk, now=now) is None
    (alert,) = AnalystAlert.objects.filter(kind="delivery_failed")
    assert alert.summary.startswith(f"Case {case.pk} moved to another provider, which could not be noticed")


def test_same_provider_in_another_country_keeps_the_notice_records_and_alerts(make_case, make_provider, now):
    polder = make_provider("polder")
    case = make_case(provider=polder, when=now)
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=now)
    mark_notice_sent(notice=queue_notice(notice=notice, now=now), at=now)
    later = now + timedelta(hours=5)
    trace = hopped(case, polder, later, country="DE")  # the provider's own network, now in DE

    assert act_on_hop(url_id=case.pk, now=later) is None
    assert Notice.objects.count() == 1  # no second notice to the same provider
    item = NoticeItem.objects.get(url=case)
    assert (item.notice_id, item.is_open, item.superseded_at) == (notice.pk, True, None)
    (event,) = Event.objects.filter(url=case, kind="url.country_changed")
    assert (event.notice_id, event.data["from"], event.data["to"], event.data["trace"]) == (
        notice.pk,
        "NL",
        "DE",
        trace.pk,
    )
    assert event.data["text"].startswith("Hosting country changed from NL to DE (address 203.0.113.7, still ")
    assert "time-to-removal statistics stay with the country at notice (NL)" in event.data["text"]
    (alert,) = AnalystAlert.objects.all()
    assert (alert.kind, alert.url_id, alert.notice_id, alert.provider_id) == (
        "country_changed",
        case.pk,
        notice.pk,
        polder.pk,
    )
    assert alert.summary.startswith(
        f"Case {case.pk}: hosting country changed from NL to DE at Polder Hosting"
    )
    case.refresh_from_db()
    assert (hosting_country(case), case.country_at_notice) == ("DE", "NL")  # now DE; counted as at notice
    assert case.provider_at_notice_id == polder.pk and case.first_notice_sent_at == now

    assert act_on_hop(url_id=case.pk, now=later) is None  # the same trace again: nothing twice
    assert Event.objects.filter(kind="url.country_changed").count() == 1
    assert AnalystAlert.objects.count() == 1

    hopped(case, polder, later + timedelta(hours=1), country="FR")  # moved on: from DE, one open alert kept
    act_on_hop(url_id=case.pk, now=later + timedelta(hours=1))
    texts = [e.data["text"][:41] for e in Event.objects.filter(kind="url.country_changed").order_by("pk")]
    assert texts == ["Hosting country changed from NL to DE (ad", "Hosting country changed from DE to FR (ad"]
    assert AnalystAlert.objects.count() == 1


def test_a_country_change_the_tracer_finds_is_acted_on(dns_server, make_case, make_provider, now):
    from notices.hosting.tracer import trace_url
    from notices.models import RoutingPrefix
    from notices.tasks import trace_url_task

    polder = make_provider("polder")
    dns_server.set_record("files.polder.example", "A", ["198.51.100.10"])
    case = make_case(provider=polder, when=now - timedelta(hours=2))
    trace_url(url=case, now=now - timedelta(hours=1))
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=now)
    mark_notice_sent(notice=queue_notice(notice=notice, now=now), at=now)
    RoutingPrefix.objects.filter(provider=polder).update(country="DE")

    assert trace_url_task(case.pk) == "ok"

    case.refresh_from_db()
    assert (case.current_trace.country, case.current_trace.is_hop, case.country_at_notice) == (
        "DE",
        True,
        "NL",
    )
    (event,) = Event.objects.filter(url=case, kind="url.country_changed")
    assert event.data["text"].startswith("Hosting country changed from NL to DE")
    assert AnalystAlert.objects.filter(kind="country_changed", url=case).count() == 1
    assert list(NoticeItem.objects.filter(url=case, is_open=True).values_list("notice_id", flat=True)) == [
        notice.pk
    ]
