"""Loading the demo network (notices/demo/network.py) into the database."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from notices.demo.network import DEMO_REPORTS, PARTNER_NAME, PROVIDERS, TRANSIT, USERS, DemoProvider
from notices.models import HostingProvider, Partner, ProviderContact, ProviderMembership, RoutingPrefix
from notices.services.intake import ReportInput, submit_reports
from notices.services.roles import ANALYST, AUDITOR, SUPERVISOR, assign_role


def demo_loaded() -> bool:
    return HostingProvider.objects.filter(slug=PROVIDERS[0].slug).exists()


@transaction.atomic
def load_demo_data() -> None:
    """Create the demo providers, networks, users and a few fresh reports. Idempotent: skips if loaded."""
    if demo_loaded():
        return
    for demo in PROVIDERS:
        _create_provider(demo)
    RoutingPrefix.objects.create(source=RoutingPrefix.Source.ROUTING, country="NL", **TRANSIT)
    _create_staff()
    partner, _ = Partner.objects.get_or_create(name=PARTNER_NAME, defaults={"country": "NL"})
    submit_reports(items=[ReportInput(url=u) for u in DEMO_REPORTS], now=timezone.now(), partner=partner)


def _create_provider(demo: DemoProvider) -> None:
    provider = HostingProvider.objects.create(
        slug=demo.slug,
        name=demo.name,
        country=demo.country,
        language=demo.language,
        time_zone=demo.time_zone,
        org_handles=[f"ORG-{demo.slug.upper()[:6]}1-TEST"],
    )
    ProviderContact.objects.create(provider=provider, email=demo.abuse, name="Abuse desk")
    RoutingPrefix.objects.create(
        prefix=demo.prefix,
        source=RoutingPrefix.Source.DEMO,
        asn=demo.asn,
        org_handle=provider.org_handles[0],
        org_name=demo.name,
        country=demo.country,
        provider=provider,
        abuse_emails=[demo.abuse],
    )
    if demo.portal_user:
        user = get_user_model().objects.create_user(demo.portal_user, password=USERS[demo.portal_user])
        ProviderMembership.objects.create(user=user, provider=provider, is_admin=True)


def _create_staff() -> None:
    """One staff user per role (README "Roles"), named after it; no superuser."""
    for username, role in (("analyst", ANALYST), ("supervisor", SUPERVISOR), ("auditor", AUDITOR)):
        user = get_user_model().objects.create_user(username, f"{username}@hotline.example", USERS[username])
        assign_role(user=user, role=role, actor="system")
