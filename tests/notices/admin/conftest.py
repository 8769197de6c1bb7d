"""One saved object of every model the admin shows, on top of the demo data (providers, users, reports)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model

# Real headless Chromium for the staff sign-in's browser tests: the portal's fixtures, one way to drive it.
from tests.notices.portal.conftest import browse, chromium_path, screenshot  # noqa: F401


@pytest.fixture
def demo_world(db, now, default_policies):
    """The demo data plus one row of every registered model; returns {model: an object of it}."""
    from notices.demo.data import load_demo_data
    from notices.models import (
        AnalystAlert,
        AnalystReply,
        AuditEvent,
        Check,
        ClockStop,
        Escalation,
        EscalationStep,
        HostingOverride,
        HostingProvider,
        HostingTrace,
        InboundMessage,
        Invitation,
        Notice,
        NoticeTemplate,
        ProviderResponse,
        Referral,
        RegistryImport,
        RemovalOrder,
        RetentionPolicy,
        StepRun,
        Url,
        WebhookDelivery,
        WebhookEndpoint,
    )
    from notices.services.assessment import assess_url
    from notices.services.keys import create_api_key
    from notices.services.notices import create_notices, queue_notice

    load_demo_data()
    users = get_user_model().objects
    analyst = users.get(username="analyst")
    polder = HostingProvider.objects.get(slug="polder-hosting")
    case = Url.objects.filter(host__contains="polder").order_by("pk").first()
    assess_url(url=case, analyst=analyst, legality="illegal_international", classification="A1", now=now)
    trace = HostingTrace.objects.create(
        url=case,
        traced_at=now,
        host=case.host,
        ips=["198.51.100.10"],
        ip="198.51.100.10",
        prefix="198.51.100.0/26",
        provider=polder,
        country="NL",
        asn=64500,
        sources=[],
    )
    Url.objects.filter(pk=case.pk).update(current_trace=trace, provider=polder)
    case.refresh_from_db()
    Check.objects.create(url=case, checked_at=now, outcome="live", status_code=200)
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=now, created_by=analyst)
    notice = queue_notice(notice=notice, now=now)
    ProviderResponse.objects.create(notice=notice, action="need_info", message="Which page?", created_at=now)
    run = StepRun.objects.create(
        notice=notice,
        step=EscalationStep.objects.order_by("pk").first(),
        action="repeat_notice",
        status="done",
        target="abuse@polder-hosting.example",
        created_at=now,
        performed_at=now,
        delivered_at=now,
    )
    Escalation.objects.create(
        url=case, notice=notice, run=run, level=1, reason="deadline passed", created_at=now
    )
    referral = Referral.objects.create(
        authority="law_enforcement", country="DE", notice=notice, provider=polder, created_at=now
    )
    referral.urls.set([case])
    ClockStop.objects.create(
        kind="need_info", url=case, notice=notice, reason="Which page?", started_at=now, ended_at=now
    )
    order_notice = Notice.objects.create(
        reference="TN-2026-900001",
        provider=polder,
        notice_type="removal_order",
        status="draft",
        created_at=now,
    )
    RemovalOrder.objects.create(
        notice=order_notice,
        authority="Bundeskriminalamt",
        reference="RO-WALK-1",
        issued_at=now,
        addressee="Polder Hosting",
        legal_basis="tco",
        clock_starts="delivery",
        created_at=now,
    )
    AnalystAlert.objects.create(
        kind="overdue",
        key="overdue:walk",
        summary="1 URL still up 48 h after the notice.",
        notice=notice,
        url=case,
        provider=polder,
        created_at=now,
    )
    create_api_key(scope="user", user=analyst, name="walker")
    AuditEvent.objects.create(
        actor="user:analyst", action="url.view", object_type="url", object_id=str(case.pk)
    )
    InboundMessage.objects.create(
        received_at=now,
        message_id="<walk@polder.example>",
        from_address="abuse@polder.example",
        subject=f"Re: {notice.reference}",
        kind="reply",
        notice=notice,
        text="Looking into it.",
    )
    RegistryImport.objects.create(dataset="ripe", status="failed", data_time=now, started_at=now, message="x")
    HostingOverride.objects.create(
        scope="host", host=case.host, provider=polder, country="NL", created_by=analyst
    )
    Invitation.objects.create(
        provider=polder,
        email="new@polder.example",
        token_hash="0" * 64,
        created_at=now,
        expires_at=now + timedelta(days=7),
    )
    AnalystReply.objects.create(notice=notice, author=analyst, body="This one.", created_at=now)
    endpoint = WebhookEndpoint.objects.create(
        provider=polder, url="https://hooks.polder.example/notices", secret="s" * 32, created_at=now
    )
    WebhookDelivery.objects.create(endpoint=endpoint, notice=notice, created_at=now)
    RetentionPolicy.objects.create(pk=RetentionPolicy.SINGLETON_ID, ended_cases_days=400, not_illegal_days=60)
    NoticeTemplate.objects.create(
        language="nl",
        notice_type="",
        subject="Melding {{ notice.reference }}",
        body="Geachte {{ notice.provider.name }}",
        active=True,
    )

    objects = {}
    for model in admin.site._registry:
        model_admin = admin.site._registry[model]
        first = (
            model_admin.get_queryset(_request_for(users.get(username="supervisor"))).order_by("pk").first()
        )
        objects[model] = first
    return objects


def _request_for(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.fixture
def request_for():
    return _request_for
