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
    return Partner.objects.create(name="Bulgarian Hotline", country="BG", receives_handoffs=True)


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
