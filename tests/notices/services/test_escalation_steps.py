"""What each escalation step delivers: the notice to the upstream network the trace found, the hand-off to the
partner hotline (at its hand-off address), referral records and their export, the mails in en, de, nl, fr."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from notices.hosting.tracer import trace_url
from notices.models import (
    AnalystAlert,
    AuditEvent,
    Event,
    HostingProvider,
    OutgoingMessage,
    Partner,
    ProviderContact,
    Referral,
    RoutingPrefix,
    StepRun,
)
from notices.services.escalation import sweep
from notices.services.notices import create_notices, mark_notice_sent, queue_notice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_policies")]

H = timedelta(hours=1)
HOST = "files.polder.example"


@pytest.fixture
def start(now):
    return (now - timedelta(days=30)).replace(microsecond=0)


def sent_notice(case, at):
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=at)
    notice = queue_notice(notice=notice, now=at)
    mark_notice_sent(notice=notice, at=at)
    notice.refresh_from_db()
    return notice


def step_mails(notice, action) -> list[OutgoingMessage]:
    return list(OutgoingMessage.objects.filter(run__notice=notice, run__action=action).order_by("pk"))


@pytest.fixture
def traced_case(dns_server, make_case, provider, start):
    """A case of `provider` (198.51.100.0/25) traced for real: DNS, then the hand-entered prefixes."""
    dns_server.set_record(HOST, "A", ["198.51.100.10"])

    def _traced():
        case = make_case(f"http://{HOST}/a.html", provider=provider, when=start)
        trace_url(url=case, now=start)
        case.refresh_from_db()
        return case

    return _traced


# --- Notice to the upstream network ----------------------------------------------------------------------


def test_upstream_notice_goes_to_the_transit_the_trace_found(traced_case, start):
    RoutingPrefix.objects.create(
        prefix="198.51.100.0/24",
        source="routing",
        asn=64496,
        org_name="Example Transit AS",
        abuse_emails=["abuse@transit.example"],
    )
    case = traced_case()
    notice = sent_notice(case, start)

    sweep(now=start + 72 * H)

    (mail,) = step_mails(notice, "upstream_notice")
    assert (mail.recipients, mail.url_ids) == (["abuse@transit.example"], [case.pk])
    assert mail.subject == (
        f"[{notice.reference}] Child sexual abuse material still online at your customer Polder Hosting"
    )
    assert mail.text.startswith("Example Transit AS — abuse desk,\n\n")
    assert "network announcing 198.51.100.0/24 (AS64496)" in mail.text
    assert "files[.]polder[.]example" in mail.text and "files.polder.example" not in mail.text
    run = StepRun.objects.get(notice=notice, action="upstream_notice")
    assert (run.status, run.target) == (
        "queued",
        "Example Transit AS (network announcing 198.51.100.0/24 (AS64496)) at abuse@transit.example",
    )


def test_upstream_notice_to_a_parent_network_we_know_speaks_its_language(traced_case, make_provider, start):
    lir = make_provider("lir", prefix="198.51.100.0/24", asn=64499, language="de", name="Beispiel LIR GmbH")
    case = traced_case()
    notice = sent_notice(case, start)

    sweep(now=start + 72 * H)

    (mail,) = step_mails(notice, "upstream_notice")
    assert mail.recipients == [f"abuse@{lir.slug}.example"]
    assert mail.subject.startswith(f"[{notice.reference}] Darstellungen sexuellen Kindesmissbrauchs")
    assert mail.text.startswith("Beispiel LIR GmbH — Abuse-Team,\n\n")
    assert "(parent network 198.51.100.0/24; AS64500, Adresse 198.51.100.10)" in mail.text


def test_upstream_without_abuse_contact_fails_and_alerts(traced_case, make_provider, start):
    lir = make_provider("lir", prefix="198.51.100.0/24", asn=64499, name="Beispiel LIR GmbH")
    ProviderContact.objects.filter(provider=lir).delete()
    case = traced_case()
    notice = sent_notice(case, start)

    sweep(now=start + 72 * H)

    run = StepRun.objects.get(notice=notice, action="upstream_notice")
    assert (run.status, run.last_error) == (
        "retrying",
        "no abuse contact for the upstream network: Beispiel LIR GmbH (parent network 198.51.100.0/24)",
    )
    assert AnalystAlert.objects.filter(kind="step_failed", notice=notice).count() == 1
    case.refresh_from_db()
    assert case.next_escalation_at == run.next_attempt_at


# --- Hand-off to the partner hotline ---------------------------------------------------------------------


def test_partner_handoff_mails_the_partner_hand_off_address(make_case, provider, start):
    case = make_case(provider=provider, when=start)
    notice = sent_notice(case, start)
    partner = Partner.objects.create(
        name="Meldpunt NL", country="NL", receives_handoffs=True, handoff_email="handoff@meldpunt.example"
    )

    sweep(now=start + 72 * H)

    (mail,) = step_mails(notice, "partner_handoff")
    assert mail.recipients == ["handoff@meldpunt.example"]
    assert mail.subject == f"[{notice.reference}] Hand-off from Demo Hotline: CSAM hosted in NL still online"
    assert mail.text.startswith(
        "Meldpunt NL,\n\nDemo Hotline hands over to you the case below: child sexual abuse material hosted "
        "in NL at Polder Hosting (NL)."
    )
    run = StepRun.objects.get(notice=notice, action="partner_handoff")
    assert (run.status, run.target, run.detail) == (
        "queued",
        "Meldpunt NL (NL) at handoff@meldpunt.example",
        {"partner": partner.pk},
    )


@pytest.mark.parametrize(
    ("language", "subject", "opening"),
    [
        ("de", "Übergabe von Demo Hotline", "Demo Hotline übergibt Ihnen den folgenden Fall"),
        ("nl", "Overdracht van Demo Hotline", "Demo Hotline draagt de onderstaande zaak aan u over"),
        ("fr", "Transmission de Demo Hotline", "Demo Hotline vous transmet le cas ci-dessous"),
    ],
)
def test_partner_handoff_is_written_in_the_partner_language(
    make_case, provider, start, language, subject, opening
):
    case = make_case(provider=provider, when=start)
    notice = sent_notice(case, start)
    Partner.objects.create(
        name="Meldpunt NL",
        country="NL",
        receives_handoffs=True,
        handoff_email="handoff@meldpunt.example",
        language=language,
    )

    sweep(now=start + 72 * H)

    (mail,) = step_mails(notice, "partner_handoff")
    assert subject in mail.subject and opening in mail.text


def test_partner_without_hand_off_address_fails_the_step(make_case, provider, start):
    case = make_case(provider=provider, when=start)
    notice = sent_notice(case, start)
    Partner.objects.create(name="Meldpunt NL", country="NL", receives_handoffs=True)

    sweep(now=start + 72 * H)

    run = StepRun.objects.get(notice=notice, action="partner_handoff")
    assert (run.status, run.last_error) == (
        "retrying",
        "the partner hotline Meldpunt NL has no hand-off address",
    )
    assert step_mails(notice, "partner_handoff") == []


def test_partner_handoff_goes_by_the_current_hosting_country(make_case, provider, start):
    """The content moved to another country within its provider after the notice: the hand-off goes to that
    country's hotline, not the one of the country at notice; a notice with URLs in two countries hands each
    to its own hotline."""
    from notices.models import HostingTrace, Url

    first = make_case("http://files.polder.example/a.html", provider=provider, when=start)
    second = make_case("http://files.polder.example/b.html", provider=provider, when=start)
    (notice,) = create_notices(urls=[first, second], notice_type="hotline_notice", now=start)
    mark_notice_sent(notice=queue_notice(notice=notice, now=start), at=start)
    nl = Partner.objects.create(
        name="Meldpunt NL", country="NL", receives_handoffs=True, handoff_email="handoff@meldpunt.example"
    )
    be = Partner.objects.create(
        name="Meldpunt BE", country="BE", receives_handoffs=True, handoff_email="handoff@meldpunt-be.example"
    )
    for case in (first, second):  # both in BE now, at the same provider
        trace = HostingTrace.objects.create(
            url=case,
            traced_at=start + H,
            host=case.host,
            ips=["198.51.100.70"],
            ip="198.51.100.70",
            provider=provider,
            country="BE",
            asn=64500,
            sources=[],
            is_hop=True,
        )
        Url.objects.filter(pk=case.pk).update(current_trace=trace)
    HostingTrace.objects.filter(pk=trace.pk).update(country="NL")  # the second URL is back in NL

    sweep(now=start + 72 * H)

    mails = step_mails(notice, "partner_handoff")
    assert [(m.recipients, m.url_ids) for m in mails] == [
        (["handoff@meldpunt-be.example"], [first.pk]),
        (["handoff@meldpunt.example"], [second.pk]),
    ]
    assert "hosted in BE at Polder Hosting" in mails[0].text
    run = StepRun.objects.get(notice=notice, action="partner_handoff")
    assert (run.status, run.target, run.detail) == (
        "queued",
        "Meldpunt BE (BE) at handoff@meldpunt-be.example; Meldpunt NL (NL) at handoff@meldpunt.example",
        {"partners": [be.pk, nl.pk]},
    )
    first.refresh_from_db()
    assert first.country_at_notice == "NL"  # the statistics keep the country at notice


# --- Referrals and their export --------------------------------------------------------------------------


def test_referrals_are_recorded_and_exported_with_the_exact_urls(make_case, provider, start, admin_client):
    case = make_case(provider=provider, when=start)
    notice = sent_notice(case, start)
    sweep(now=start + 7 * 24 * H)
    referrals = list(Referral.objects.order_by("pk"))
    assert [(r.authority, r.country, r.notice, list(r.urls.all())) for r in referrals] == [
        ("law_enforcement", "DE", notice, [case]),
        ("dsc", "NL", notice, [case]),
    ]

    response = admin_client.post(
        "/admin/notices/referral/",
        {"action": "export_csv", "_selected_action": [r.pk for r in referrals]},
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["referral"], r["authority"], r["url"], r["notice"]) for r in rows] == [
        (str(referrals[0].pk), "law_enforcement", case.canonical, notice.reference),
        (str(referrals[1].pk), "dsc", case.canonical, notice.reference),
    ]
    week = f"{start + 7 * 24 * H:%Y-%m-%d %H:%M}"  # one sweep at 7 days: the latest repeat, then the rest
    assert rows[0]["steps_taken"].split("; ")[:2] == [
        f"{week} repeat_notice #7: queued",
        f"{week} analyst_alert #1: done",
    ]
    assert Referral.objects.filter(exported_at__isnull=True).count() == 0
    assert AuditEvent.objects.filter(action="referral.export").count() == 2


def test_referral_list_never_shows_an_exact_url(make_case, provider, start, admin_client):
    case = make_case(provider=provider, when=start)
    sent_notice(case, start)
    sweep(now=start + 7 * 24 * H)
    referral = Referral.objects.first()

    page = admin_client.get(f"/admin/notices/referral/{referral.pk}/change/").content.decode()

    assert case.canonical not in page


def test_dsc_referral_does_not_apply_outside_the_eu(make_case, make_provider, start):
    pacific = make_provider("pacific", country="US", prefix="203.0.113.0/24", asn=64503)
    case = make_case("http://cdn.pacific.example/v.mp4", provider=pacific, when=start)
    notice = sent_notice(case, start)

    sweep(now=start + 7 * 24 * H)

    assert StepRun.objects.get(notice=notice, action="refer_dsc").status == "skipped"
    assert list(Referral.objects.values_list("authority", flat=True)) == ["law_enforcement"]


# --- Mail texts in the provider's language ---------------------------------------------------------------

REPEAT_OPENINGS = {
    "en": ("Reminder 1: [", "Reminder 1: we sent you notice {ref} on "),
    "de": ("Erinnerung 1: [", "Erinnerung 1: Wir haben Ihnen die Meldung {ref} am "),
    "nl": ("Herinnering 1: [", "Herinnering 1: wij hebben u melding {ref} gestuurd op "),
    "fr": ("Rappel 1 : [", "Rappel 1 : nous vous avons envoyé la notification {ref} le "),
}
NOTICE_OPENINGS = {
    "en": "abuse desk,",
    "de": "Abuse-Team,",
    "nl": "abuse-afdeling,",
    "fr": "service abuse,",
}


@pytest.mark.parametrize("language", ["en", "de", "nl", "fr"])
def test_repeat_notice_speaks_the_provider_language(make_case, make_provider, start, language):
    provider = make_provider(f"lang-{language}", prefix=None, language=language)
    case = make_case(f"http://files.lang-{language}.example/a.html", provider=provider, when=start)
    notice = sent_notice(case, start)

    sweep(now=start + 24 * H)

    (mail,) = step_mails(notice, "repeat_notice")
    subject, opening = REPEAT_OPENINGS[language]
    assert mail.subject.startswith(subject)
    assert mail.text.startswith(opening.format(ref=notice.reference))
    assert NOTICE_OPENINGS[language] in mail.text.split("\n\n")[1]  # the notice itself follows
    assert f"files[.]lang-{language}[.]example" in mail.text


UPSTREAM_OPENINGS = {
    "en": "Example Transit — abuse desk,",
    "de": "Example Transit — Abuse-Team,",
    "nl": "Example Transit — abuse-afdeling,",
    "fr": "Example Transit — service abuse,",
}


@pytest.mark.parametrize("language", ["en", "de", "nl", "fr"])
def test_upstream_notice_speaks_the_upstream_language(traced_case, start, language):
    transit = HostingProvider.objects.create(slug="transit", name="Example Transit", language=language)
    ProviderContact.objects.create(provider=transit, email="abuse@transit.example")
    RoutingPrefix.objects.create(prefix="198.51.100.0/24", source="routing", asn=64496, provider=transit)
    case = traced_case()
    notice = sent_notice(case, start)

    sweep(now=start + 72 * H)

    (mail,) = step_mails(notice, "upstream_notice")
    assert mail.text.startswith(UPSTREAM_OPENINGS[language])
    assert notice.reference in mail.subject
    assert Event.objects.filter(url=case, kind="url.escalated", data__action="upstream_notice").count() == 1


def test_retried_upstream_run_mails_only_the_upstream_it_did_not_reach(make_case, provider, now, smtp_sink):
    from notices.delivery.outbox import claim_due_messages
    from notices.models import HostingTrace
    from notices.services.delivery import send_claimed

    start = now - 72 * H  # the outbox reports in real time: the ladder's 72 h are now
    cases = [make_case(f"http://{HOST}/{n}.html", provider=provider, when=start) for n in "ab"]
    for case, transit in zip(cases, ["a", "b"], strict=True):
        HostingTrace.objects.filter(pk=case.current_trace_id).update(
            sources=[
                {
                    "source": "routing",
                    "query": f"198.51.100.0/2{'4' if transit == 'a' else '5'}",
                    "answer": {
                        "org_name": f"Transit {transit}",
                        "abuse_emails": [f"abuse@{transit}.example"],
                    },
                }
            ]
        )
    (notice,) = create_notices(urls=cases, notice_type="hotline_notice", now=start)
    mark_notice_sent(notice=queue_notice(notice=notice, now=start), at=start)
    sweep(now=now)
    first, second = step_mails(notice, "upstream_notice")
    assert (first.recipients, second.recipients) == (["abuse@a.example"], ["abuse@b.example"])
    smtp_sink.rules = {"abuse@b.example": "permfail"}
    claim_due_messages(now=now, limit=10, message_ids=[first.pk, second.pk])
    assert (send_claimed(first.pk), send_claimed(second.pk)) == ("sent", "failed")
    run = StepRun.objects.get(notice=notice, action="upstream_notice")
    assert run.status == "retrying"

    smtp_sink.rules = {}
    sweep(now=run.next_attempt_at)

    *_, again = step_mails(notice, "upstream_notice")
    assert len(step_mails(notice, "upstream_notice")) == 3
    assert (again.recipients, again.url_ids) == (["abuse@b.example"], [cases[1].pk])
