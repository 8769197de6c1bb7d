"""A withdrawn notice in the portal, in every portal language: listed with the past notices, its page says
when and why it was withdrawn and offers no answer, answering it is refused, and its one-click links say it
was withdrawn instead of acting. A notice withdrawn before it was sent stays unseen; a closed case shows as
withdrawn in a notice still open."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from notices.delivery.compose import one_click_token
from notices.models import AuditEvent, Notice, ProviderResponse
from notices.portal.access import PORTAL_LANGUAGES, provider_zone
from notices.services.lifecycle import close_case, withdraw

pytestmark = pytest.mark.django_db

# What the provider reads, per language: the status badge, the notice page's note (with the reason), the
# refusal of an answer, and the one-click page.
TEXTS = {
    "en": {
        "badge": "Withdrawn by the hotline",
        "withdrew": "The hotline withdrew this notice on",
        "reason": "Reason: Sent to the wrong provider.",
        "refused": "The hotline withdrew this notice; no answer is needed.",
        "link": "Nothing needs to be done, and this link no longer records an answer.",
    },
    "de": {
        "badge": "Von der Hotline zurückgezogen",
        "withdrew": "Die Hotline hat diese Meldung am",
        "reason": "Grund: An den falschen Hoster gesendet.",
        "refused": "Die Hotline hat diese Meldung zurückgezogen; keine Antwort nötig.",
        "link": "Es ist nichts zu tun, und dieser Link nimmt keine Antwort mehr an.",
    },
    "nl": {
        "badge": "Ingetrokken door de hotline",
        "withdrew": "De hotline heeft deze melding op",
        "reason": "Reden: Naar de verkeerde provider verzonden.",
        "refused": "De hotline heeft deze melding ingetrokken; er is geen antwoord nodig.",
        "link": "U hoeft niets te doen, en deze link legt geen antwoord meer vast.",
    },
    "fr": {
        "badge": "Retirée par la hotline",
        "withdrew": "La hotline a retiré cette notification le",
        "reason": "Motif : Envoyée au mauvais hébergeur.",
        "refused": "La hotline a retiré cette notification ; aucune réponse n’est nécessaire.",
        "link": "Il n’y a rien à faire, et ce lien n’enregistre plus de réponse.",
    },
}


def test_every_portal_language_is_covered():
    assert set(TEXTS) == set(PORTAL_LANGUAGES)


@pytest.fixture
def withdrawn(sent_notice, provider, request):
    """`sent_notice`, withdrawn as sent to the wrong provider, the provider speaking `request.param`."""
    provider.language = request.param
    provider.save(update_fields=["language"])
    withdraw(notices=[sent_notice], reason="wrong_provider", now=timezone.now())
    sent_notice.refresh_from_db()
    return sent_notice


def _page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("withdrawn", PORTAL_LANGUAGES, indirect=True)
def test_the_list_shows_it_with_the_past_notices(desk_client, withdrawn, provider):
    texts = TEXTS[provider.language]

    past = _page(desk_client, "/portal/?view=past")
    current = _page(desk_client, "/portal/?view=open")

    assert withdrawn.reference in past and texts["badge"] in past
    assert withdrawn.reference not in current


@pytest.mark.parametrize("withdrawn", PORTAL_LANGUAGES, indirect=True)
def test_its_page_says_when_and_why_and_offers_no_answer(desk_client, withdrawn, provider):
    texts = TEXTS[provider.language]
    local = timezone.localtime(withdrawn.withdrawn_at, timezone=provider_zone(provider))

    page = _page(desk_client, f"/portal/notices/{withdrawn.reference}/")

    assert f"{texts['withdrew']} {local:%Y-%m-%d %H:%M}" in page
    assert texts["reason"] in page
    assert page.count(texts["badge"]) == 3  # the notice's badge and each of its two URLs
    assert 'id="form-removed"' not in page and "/respond/" not in page


@pytest.mark.parametrize("withdrawn", PORTAL_LANGUAGES, indirect=True)
def test_an_answer_is_refused_in_the_providers_language(desk_client, withdrawn, provider):
    response = desk_client.post(f"/portal/notices/{withdrawn.reference}/respond/acknowledge/")

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [TEXTS[provider.language]["refused"]]
    assert ProviderResponse.objects.count() == 0
    withdrawn.refresh_from_db()
    assert (withdrawn.status, withdrawn.acknowledged_at) == ("withdrawn", None)


@pytest.mark.parametrize("withdrawn", PORTAL_LANGUAGES, indirect=True)
@pytest.mark.parametrize("action", ["acknowledge", "removed"])
def test_one_click_links_say_it_was_withdrawn_and_act_on_nothing(client, withdrawn, provider, action):
    texts = TEXTS[provider.language]
    link = f"/portal/one-click/{one_click_token(withdrawn, action)}/"

    shown = client.get(link)
    posted = client.post(link)

    for response in (shown, posted):
        body = response.content.decode()
        assert texts["link"] in body and texts["reason"] in body and texts["withdrew"] in body
        assert f'lang="{provider.language}"' in body
        assert '<form method="post">' not in body  # no confirmation button
    assert (shown.status_code, posted.status_code) == (200, 409)
    assert ProviderResponse.objects.count() == 0
    withdrawn.refresh_from_db()
    assert (withdrawn.status, withdrawn.acknowledged_at) == ("withdrawn", None)
    assert not AuditEvent.objects.filter(action__startswith="notice.respond").exists()


def test_a_notice_withdrawn_before_it_was_sent_is_not_there(desk_client, client, make_case, provider, now):
    from notices.services.notices import create_notices, queue_notice

    url = make_case(provider=provider, when=now)
    (notice,) = create_notices(urls=[url], notice_type="hotline_notice", now=now)
    notice = queue_notice(notice=notice, now=now)  # e-mail provider: waiting in the outbox
    withdraw(notices=[notice], reason="sent_in_error", now=now)

    assert desk_client.get(f"/portal/notices/{notice.reference}/").status_code == 404
    assert notice.reference not in _page(desk_client, "/portal/?view=all")
    assert client.get(f"/portal/one-click/{one_click_token(notice, 'acknowledge')}/").status_code == 404


@pytest.mark.parametrize("language", PORTAL_LANGUAGES)
def test_a_closed_case_shows_withdrawn_in_a_notice_still_open(desk_client, sent_notice, provider, language):
    provider.language = language
    provider.save(update_fields=["language"])
    first = sent_notice.items.order_by("url_id").first().url
    close_case(url=first, reason="duplicate", now=timezone.now())

    page = _page(desk_client, f"/portal/notices/{sent_notice.reference}/")

    assert Notice.objects.get(pk=sent_notice.pk).status == "sent"
    assert page.count(TEXTS[language]["badge"]) == 1  # the closed case's URL; the notice is still open
    assert 'id="form-removed"' in page
    assert f'value="{first.pk}" form="form-removed"' not in page  # it cannot be answered for
