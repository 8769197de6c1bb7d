"""Deconfliction: a case handed off to, or received from, another hotline is marked with that hotline and its
reference; our own notice for the same URL and provider is held (manual creation refuses it with a clear
message, dispatch leaves it out), and the case page shows the other hotlines' references."""

from __future__ import annotations

import pytest
from django.utils import timezone
from jsonschema import Draft202012Validator

from notices.enums import PartnerRole
from notices.models import Event, NetworkLink, Notice, Partner
from notices.selectors.exchange import exchange_schema
from notices.services.dispatch import dispatch_due
from notices.services.exchange import link_case, record_handoff
from notices.services.notices import NoticeError, create_notices
from notices.services.routing import hand_off

pytestmark = pytest.mark.django_db


@pytest.fixture
def belgian_hotline(db):
    return Partner.objects.create(name="Belgian Hotline", country="BE")


def _received(url, partner, *, provider, now, reference="BE-2026-0042"):
    return link_case(
        url=url,
        partner=partner,
        role=PartnerRole.RECEIVED_FROM,
        reference=reference,
        provider=provider,
        holds_notices=True,
        package={},
        now=now,
    )


def test_hand_off_record_carries_the_exchange_package(make_case, other_provider, now):
    bulgarian = Partner.objects.create(
        name="Bulgarian Hotline",
        country="BG",
        receives_handoffs=True,
        handoff_email="handoff@hotline-bg.example",
    )
    case = make_case("http://cdn.balkan.example/x.jpg", provider=other_provider, when=now)

    hand_off(url=case, partner=bulgarian, now=now)

    link = NetworkLink.objects.get(url=case)
    assert (link.partner, link.role, link.provider, link.holds_notices) == (
        bulgarian,
        "handed_off_to",
        other_provider,
        True,
    )
    assert list(Draft202012Validator(exchange_schema()).iter_errors(link.package)) == []
    (record,) = link.package["cases"]
    assert (record["url"], record["action"]["code"], record["hosting"]["country"]) == (
        "http://cdn.balkan.example/x.jpg",
        "handed_off",
        "BG",
    )
    assert record["assessment"]["classification"] == "baseline"
    assert Event.objects.filter(kind="url.network_linked", url=case).count() == 1


def test_notice_for_a_case_another_hotline_noticed_is_held(make_case, api_only, belgian_hotline, now):
    held = make_case("http://files.polder.example/held.html", provider=api_only, when=now)
    _received(held, belgian_hotline, provider=api_only, now=now)
    with pytest.raises(NoticeError) as refused:
        create_notices(urls=[held], notice_type="hotline_notice", now=now)
    assert refused.value.errors == {
        "urls": [
            f"URL {held.pk} was received from Belgian Hotline (their reference BE-2026-0042), who notifies "
            "this provider: our notice is held, not sent twice."
        ]
    }
    assert Notice.objects.count() == 0


def test_a_link_for_another_provider_holds_nothing(make_case, api_only, other_provider, belgian_hotline, now):
    """The content moved to a provider the other hotline did not notify: our notice to it is no second one."""
    case = make_case("http://files.polder.example/moved.html", provider=api_only, when=now)
    _received(case, belgian_hotline, provider=other_provider, now=now)
    assert len(create_notices(urls=[case], notice_type="hotline_notice", now=now)) == 1


def test_a_link_naming_no_provider_holds_any(make_case, api_only, belgian_hotline, now):
    case = make_case("http://files.polder.example/any.html", provider=api_only, when=now)
    _received(case, belgian_hotline, provider=None, now=now)
    with pytest.raises(NoticeError):
        create_notices(urls=[case], notice_type="hotline_notice", now=now)


def test_a_link_that_holds_nothing_lets_the_notice_go(make_case, api_only, belgian_hotline, now):
    """A case handed off to us: ours to notice."""
    case = make_case("http://files.polder.example/ours.html", provider=api_only, when=now)
    link_case(
        url=case,
        partner=belgian_hotline,
        role=PartnerRole.RECEIVED_FROM,
        reference="BE-1",
        provider=None,
        holds_notices=False,
        package={},
        now=now,
    )
    assert len(create_notices(urls=[case], notice_type="hotline_notice", now=now)) == 1


def test_dispatch_leaves_a_held_case_out_and_sends_the_others(make_case, provider, belgian_hotline, now):
    provider.dispatch = "immediate"
    provider.save(update_fields=["dispatch"])
    held = make_case("http://files.polder.example/held.html", provider=provider, when=now)
    free = make_case("http://files.polder.example/free.html", provider=provider, when=now)
    _received(held, belgian_hotline, provider=provider, now=now)

    (notice,) = dispatch_due(now=now)

    assert list(notice.items.values_list("url_id", flat=True)) == [free.pk]
    assert not Event.objects.filter(kind="dispatch.failed").exists()
    assert dispatch_due(now=now) == []  # still held at the next sweep, and no failure


def test_admin_create_notices_says_why_a_case_is_held(
    client, analyst, make_case, api_only, belgian_hotline, now
):
    case = make_case("http://files.polder.example/held.html", provider=api_only, when=now)
    _received(case, belgian_hotline, provider=api_only, now=now)
    client.force_login(analyst)
    response = client.post(
        "/admin/notices/url/",
        {"action": "create_hotline_notices", "_selected_action": [case.pk]},
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    assert any("received from Belgian Hotline (their reference BE-2026-0042)" in m for m in shown), shown
    assert Notice.objects.count() == 0


def test_case_page_shows_the_other_hotlines_references(
    client, analyst, make_case, api_only, belgian_hotline, now
):
    case = make_case("http://files.polder.example/held.html", provider=api_only, when=now)
    _received(case, belgian_hotline, provider=api_only, now=now)
    record_handoff(
        url=case, partner=Partner.objects.create(name="Polder Partner", country="NL"), now=timezone.now()
    )
    client.force_login(analyst)
    page = client.get(f"/admin/notices/url/{case.pk}/change/").content.decode()
    assert "other hotlines (their references; a held notice is not sent twice)" in page.lower()
    assert "BE-2026-0042" in page and "Belgian Hotline" in page and "Polder Partner" in page
    assert (
        "The hotline Belgian Hotline has this case too (received_from; their reference: BE-2026-0042)" in page
    )
    assert "hxxp://" in page and "http://files.polder.example" not in page
