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

pytestmark = pytest.mark.django_db

SUPERSEDED = {
    "en": "The notice is superseded for it",
    "de": "Die Meldung ist dafür gegenstandslos",
    "nl": "De melding is daarvoor vervallen",
    "fr": "La notification est caduque pour ces contenus",
}


def hopped(case, provider, at):
    trace = HostingTrace.objects.create(
        url=case,
        traced_at=at,
        host=case.host,
        ips=["203.0.113.7"],
        ip="203.0.113.7",
        provider=provider,
        country=provider.country,
        asn=64502,
        sources=[],
        is_hop=True,
    )
    Url.objects.filter(pk=case.pk).update(current_trace=trace, provider=provider)


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

    hopped(case, old_provider, now)  # a new address, the same provider
    assert act_on_hop(url_id=case.pk, now=now) is None
    assert Notice.objects.count() == 1

    mute = make_provider("mute", country="NL", prefix="203.0.113.0/24")
    mute.contacts.all().delete()
    hopped(case, mute, now)
    assert act_on_hop(url_id=case.pk, now=now) is None
    (alert,) = AnalystAlert.objects.filter(kind="delivery_failed")
    assert alert.summary.startswith(f"Case {case.pk} moved to another provider, which could not be noticed")
