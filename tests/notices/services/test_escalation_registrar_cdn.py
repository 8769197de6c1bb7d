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
