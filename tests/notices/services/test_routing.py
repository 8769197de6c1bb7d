"""Routing: own country → law enforcement first; a partner hotline's country → hand-off (still measured);
otherwise a notice to the provider."""

import pytest

from notices.models import Event, Partner
from notices.services.dispatch import dispatch_due
from notices.services.notices import NoticeError, create_notices
from notices.services.routing import hand_off, refer_to_law_enforcement, route_for


@pytest.fixture
def german(make_provider):
    return make_provider("spree", country="DE", prefix=None)


@pytest.fixture
def bulgarian_hotline(db):
    return Partner.objects.create(
        name="Bulgarian Hotline",
        country="BG",
        receives_handoffs=True,
        handoff_email="handoff@hotline-bg.example",
    )


@pytest.mark.django_db
def test_routing_own_country_needs_law_enforcement_before_a_notice(make_case, german, now, settings):
    settings.HOTLINE_COUNTRY = "DE"
    case = make_case("http://files.spree.example/a.html", provider=german, when=now)
    assert route_for(case) == "law_enforcement"
    with pytest.raises(NoticeError) as error:
        create_notices(urls=[case], notice_type="hotline_notice", now=now)
    assert "refer it to law enforcement first" in error.value.errors["urls"][0]

    case = refer_to_law_enforcement(url=case, now=now, reference="LKA-2026-17")

    assert route_for(case) == "provider"
    assert len(create_notices(urls=[case], notice_type="hotline_notice", now=now)) == 1
    assert Event.objects.get(kind="url.le_referred").data == {"reference": "LKA-2026-17"}


@pytest.mark.django_db
def test_routing_partner_country_is_handed_off_and_still_measured(
    make_case, other_provider, bulgarian_hotline, now
):
    case = make_case("http://cdn.balkan.example/x.jpg", provider=other_provider, when=now)
    assert route_for(case) == "handoff"
    with pytest.raises(NoticeError) as error:
        create_notices(urls=[case], notice_type="hotline_notice", now=now)
    assert "hand it off instead" in error.value.errors["urls"][0]

    case = hand_off(url=case, partner=bulgarian_hotline, now=now)

    # The hand-off time is the first notice sent: the case is checked and its time to removal measured.
    assert (case.status, case.first_notice_sent_at, case.next_check_at) == ("notified", now, now)
    assert (case.handed_off_to, case.country_at_notice, case.notice_type_at_notice) == (
        bulgarian_hotline,
        "BG",
        "handoff",
    )
    with pytest.raises(NoticeError):
        hand_off(url=case, partner=bulgarian_hotline, now=now)  # already handed off


@pytest.mark.django_db
def test_routing_elsewhere_goes_to_the_provider_and_dispatch_skips_the_others(
    make_case, provider, other_provider, bulgarian_hotline, now
):
    provider.dispatch = other_provider.dispatch = "immediate"
    provider.save()
    other_provider.save()
    dutch = make_case("http://files.polder.example/a.html", provider=provider, when=now)
    make_case("http://cdn.balkan.example/x.jpg", provider=other_provider, when=now)

    notices = dispatch_due(now=now)

    assert route_for(dutch) == "provider"
    assert [(n.provider_id, list(n.items.values_list("url_id", flat=True))) for n in notices] == [
        (provider.pk, [dutch.pk])
    ]


HANDOFF_WORDS = {
    "en": "hands over to you the case below",
    "de": "übergibt Ihnen den folgenden Fall",
    "nl": "draagt de onderstaande zaak aan u over",
    "fr": "vous transmet le cas ci-dessous",
}


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "de", "nl", "fr"])
def test_hand_off_mails_the_partner_hotline_through_the_outbox_in_its_language(
    make_case, other_provider, bulgarian_hotline, now, smtp_sink, language
):
    from django.utils import timezone

    from notices.delivery.outbox import claim_due_messages
    from notices.models import OutgoingMessage
    from notices.services.delivery import send_claimed

    bulgarian_hotline.language = language
    bulgarian_hotline.save(update_fields=["language"])
    case = make_case("http://cdn.balkan.example/x.jpg", provider=other_provider, when=now)
    hand_off(url=case, partner=bulgarian_hotline, now=now)

    (message,) = OutgoingMessage.objects.all()
    assert (message.notice_id, message.partner_id, message.url_ids) == (None, bulgarian_hotline.pk, [case.pk])
    assert claim_due_messages(now=timezone.now(), limit=10) == [message.pk]
    assert send_claimed(message.pk) == "sent"

    (mail,) = smtp_sink.messages()
    assert mail["To"] == "handoff@hotline-bg.example"
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert HANDOFF_WORDS[language] in body
    assert (
        "cdn[.]balkan[.]example" in body and "http://cdn.balkan.example" not in body
    )  # defanged in the text
    (csv_part,) = [part for part in mail.iter_attachments() if part.get_filename().endswith(".csv")]
    assert "http://cdn.balkan.example/x.jpg" in csv_part.get_content()  # the exact URL travels attached
    words = [e.data.get("text", "") for e in Event.objects.filter(url=case).order_by("pk")]
    assert words[-1] == "Hand-off mail accepted by the mail server for handoff@hotline-bg.example."


@pytest.mark.django_db
def test_hand_off_needs_an_address_and_no_hold(make_case, other_provider, bulgarian_hotline, now):
    from notices.models import OutgoingMessage
    from notices.services.holds import request_hold

    case = make_case("http://cdn.balkan.example/x.jpg", provider=other_provider, when=now)
    silent = Partner.objects.create(name="Silent Hotline", country="RO", receives_handoffs=True)
    with pytest.raises(NoticeError) as error:
        hand_off(url=case, partner=silent, now=now)
    assert error.value.errors == {"partner": ["Silent Hotline has no hand-off address on its record."]}
    request_hold(url=case, reason="investigation", requester="LKA", now=now)
    with pytest.raises(NoticeError):
        hand_off(url=case, partner=bulgarian_hotline, now=now)
    assert OutgoingMessage.objects.count() == 0
