"""The registrar and CDN steps: the domain's registrar found by an RDAP domain lookup against a local RDAP
server (RDAP_DOMAIN_URL) and mailed through the outbox; the CDN in front of the content asked for the origin;
each failing (retried, alerting) or not applicable in words when it cannot act."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from notices.delivery.outbox import claim_due_messages
from notices.models import EscalationPolicy, EscalationStep, HostingTrace, OutgoingMessage, StepRun
from notices.services.delivery import send_claimed
from notices.services.escalation import sweep
from notices.services.notices import create_notices, mark_notice_sent, queue_notice
from tests.notices.hosting.conftest import RdapServer

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
DOMAIN = json.loads((Path(__file__).parent / "fixtures" / "rdap_domain_polder.json").read_text())


@pytest.fixture
def rdap(settings):
    server = RdapServer()
    settings.RDAP_DOMAIN_URL = server.base_url
    settings.RDAP_TIMEOUT = 0.5
    settings.RDAP_ALLOW_PRIVATE_TARGETS = True  # loopback: tests only
    yield server
    server.stop()


@pytest.fixture
def ladder(provider):
    policy = EscalationPolicy.objects.create(
        name="Registrar and CDN", notice_type="hotline_notice", provider=provider
    )
    EscalationStep.objects.create(policy=policy, position=1, action="registrar_notice", delay=24 * H)
    EscalationStep.objects.create(policy=policy, position=2, action="cdn_notice", delay=24 * H)
    return policy


@pytest.fixture
def start(now):
    return (now - timedelta(days=10)).replace(microsecond=0)


def sent_notice(case, at):
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=at)
    notice = queue_notice(notice=notice, now=at)
    OutgoingMessage.objects.filter(notice=notice).update(status="sent")
    mark_notice_sent(notice=notice, at=at)
    return notice


def run(notice, action):
    return StepRun.objects.get(notice=notice, action=action)


def test_registrar_found_by_rdap_is_mailed_and_the_cdn_asked_for_the_origin(
    ladder, rdap, make_case, provider, make_provider, start, smtp_sink
):
    rdap.set_json("/domain/polder.example", DOMAIN)
    cdn = make_provider("edge", country="US", prefix=None, language="en")
    case = make_case(provider=provider, when=start)
    HostingTrace.objects.filter(pk=case.current_trace_id).update(intermediary=cdn)
    notice = sent_notice(case, start)

    sweep(now=start)
    assert sweep(now=start + 24 * H) == 2

    registrar = run(notice, "registrar_notice")
    assert (registrar.status, registrar.target) == (
        "queued",
        "Example Registrar B.V. for polder.example at abuse@registrar.example",
    )
    assert rdap.requests == ["/domain/polder.example"]
    assert run(notice, "cdn_notice").target == "Edge Hosting at abuse@edge.example"
    for message_id in claim_due_messages(now=timezone.now(), limit=10):
        assert send_claimed(message_id) == "sent"
    mails = {m["To"]: m for m in smtp_sink.messages()}
    assert "under the domain polder.example" in mails["abuse@registrar.example"]["Subject"]
    cdn_body = mails["abuse@edge.example"].get_body(preferencelist=("plain",)).get_content()
    assert "please tell us the origin host" in cdn_body
    assert "files[.]polder[.]example" in cdn_body
    for action in ("registrar_notice", "cdn_notice"):
        assert run(notice, action).status == "done"


def test_no_registrar_answer_fails_and_retries_and_no_cdn_is_not_applicable(
    ladder, rdap, make_case, provider, start
):
    case = make_case(provider=provider, when=start)  # the RDAP server knows no such domain: 404
    notice = sent_notice(case, start)
    sweep(now=start)
    sweep(now=start + 24 * H)

    registrar = run(notice, "registrar_notice")
    assert (registrar.status, registrar.last_error) == ("retrying", "polder.example: HTTP 404")
    assert registrar.next_attempt_at > start + 24 * H
    cdn = run(notice, "cdn_notice")
    assert cdn.status == "skipped"

    rdap.set_json("/domain/polder.example", DOMAIN)
    sweep(now=registrar.next_attempt_at)
    assert run(notice, "registrar_notice").status == "queued"


def test_without_a_domain_rdap_server_the_step_says_so(ladder, make_case, provider, start):
    notice = sent_notice(make_case(provider=provider, when=start), start)
    sweep(now=start)
    sweep(now=start + 24 * H)
    assert "no RDAP server for domains configured" in run(notice, "registrar_notice").last_error


# --- In the recipient's language --------------------------------------------------------------------------

IN_LANGUAGE = {  # the registrar mail's subject, the CDN mail's request, per language
    "en": ("under the domain polder.example", "please tell us the origin host"),
    "de": ("unter der Domain polder.example", "Bitte nennen Sie uns den Ursprungsserver"),
    "nl": ("onder het domein polder.example", "laat ons alstublieft de oorspronkelijke server weten"),
    "fr": ("sous le domaine polder.example", "veuillez nous indiquer le serveur d'origine"),
}


def with_registrar(**extra) -> dict:
    """The domain fixture with the registrar entity's vCard lines and members `extra`."""
    answer = json.loads(json.dumps(DOMAIN))
    registrar = answer["entities"][0]
    registrar["vcardArray"][1] += extra.pop("vcard", [])
    registrar.update(extra)
    return answer


@pytest.mark.parametrize("language", sorted(IN_LANGUAGE))
def test_registrar_and_cdn_mails_are_in_the_recipients_language(
    ladder, rdap, make_case, provider, make_provider, start, smtp_sink, language
):
    rdap.set_json(
        "/domain/polder.example",
        with_registrar(vcard=[["lang", {"pref": "1"}, "language-tag", language], ["lang", {}, "text", "en"]]),
    )
    cdn = make_provider("edge", country="US", prefix=None, language=language)
    case = make_case(provider=provider, when=start)
    HostingTrace.objects.filter(pk=case.current_trace_id).update(intermediary=cdn)
    notice = sent_notice(case, start)
    sweep(now=start)
    sweep(now=start + 24 * H)
    for message_id in claim_due_messages(now=timezone.now(), limit=10):
        assert send_claimed(message_id) == "sent"

    mails = {m["To"]: m for m in smtp_sink.messages()}
    subject, request = IN_LANGUAGE[language]
    registrar = mails["abuse@registrar.example"]
    assert subject in registrar["Subject"] and notice.reference in registrar["Subject"]
    registrar_body = registrar.get_body(preferencelist=("plain",)).get_content()
    assert "files[.]polder[.]example" in registrar_body and "Example Registrar B.V." in registrar_body
    cdn_body = mails["abuse@edge.example"].get_body(preferencelist=("plain",)).get_content()
    assert request in cdn_body and "files[.]polder[.]example" in cdn_body
    others = [other for code, other in IN_LANGUAGE.items() if code != language]
    assert not any(s in registrar["Subject"] or r in cdn_body for s, r in others)


def test_every_language_has_both_mails():
    from django.conf import settings

    assert sorted(code for code, _name in settings.LANGUAGES) == sorted(IN_LANGUAGE)
    root = Path(__file__).parents[3] / "notices" / "templates" / "notices" / "mail" / "escalation"
    for kind in ("registrar", "cdn"):
        for code in IN_LANGUAGE:
            assert (root / f"{kind}.{code}.txt").is_file() and (root / f"{kind}.{code}.subject.txt").is_file()


@pytest.mark.parametrize(
    ("registrar", "expected"),
    [
        ({"lang": "nl-NL"}, "nl"),  # the entity's own `lang` member (RFC 9083 4.4)
        ({"vcard": [["adr", {"cc": "FR"}, "text", ["", "", "1 rue", "Paris", "", "75001", ""]]]}, "fr"),
        ({"vcard": [["adr", {}, "text", ["", "", "Str. 1", "Wien", "", "1010", "AT"]]]}, "de"),
        ({"vcard": [["adr", {"cc": "BE"}, "text", ["", "", "", "", "", "", ""]]]}, ""),  # not settled
        ({"lang": "ja"}, ""),  # not a portal language
        ({}, ""),
    ],
)
def test_the_registrars_language_from_its_rdap_answer(registrar, expected):
    from notices.hosting.rdap import registrar_language

    answer = with_registrar(**registrar)
    assert registrar_language(answer["entities"][0], answer) == expected


def test_a_registrar_we_know_as_a_provider_gets_its_language_and_unknown_is_english(make_provider):
    from notices.services.escalation.steps import _registrar_language

    answer = {"abuse_emails": ["abuse@registrar.example"], "language": ""}
    assert _registrar_language(answer) == "en"
    assert _registrar_language({**answer, "language": "fr"}) == "fr"
    known = make_provider("registrar", prefix=None, language="de")
    assert known.contacts.get().email == "abuse@registrar.example"
    assert _registrar_language({**answer, "language": "fr"}) == "de"
