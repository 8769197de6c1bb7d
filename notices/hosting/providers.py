"""Imported organisations → HostingProvider rows, so statistics group by the real provider, not the netblock."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from notices.hosting.rules import country_code, real_contacts
from notices.models import HostingProvider, ProviderContact
from notices.services.events import audit


def provider_for_handle(handle: str) -> HostingProvider | None:
    """The provider an organisation handle belongs to (the oldest, should analysts have listed it twice)."""
    if not handle:
        return None
    return HostingProvider.objects.filter(org_handles__contains=[handle]).order_by("pk").first()


def provider_for_org(*, handle: str, name: str, country: str, abuse_emails: list[str]) -> HostingProvider:
    """The provider of an organisation, created on first sight.

    Side effects on creation: a HostingProvider (slug from the handle, the org's name and country) with the
    org's real abuse addresses as its contacts. Concurrent workers seeing the same new org create it once.
    """
    provider = provider_for_handle(handle)
    if provider is not None:
        return provider
    slug = slugify(handle)[:80] or "org"
    try:
        with transaction.atomic():
            provider, created = HostingProvider.objects.get_or_create(
                slug=slug,
                defaults={
                    "name": (name or handle)[:200],
                    "country": country_code(country),
                    "org_handles": [handle],
                },
            )
    except IntegrityError:  # another worker created it between our get and create
        provider, created = HostingProvider.objects.get(slug=slug), False
    if created:
        for address in real_contacts(abuse_emails):
            ProviderContact.objects.get_or_create(provider=provider, email=address,
                                                  defaults={"name": "Registry abuse contact"})  # fmt: skip
    elif handle not in provider.org_handles:
        provider.org_handles = [*provider.org_handles, handle]
        provider.save(update_fields=["org_handles"])
    return provider


@transaction.atomic
def merge_providers(*, target: HostingProvider, others: list[HostingProvider], actor: str) -> None:
    """Fold `others` into `target`: their org handles, contacts, users, cases, traces, notices and overrides.

    Side effects: every row pointing at one of `others` points at `target`; contacts whose address `target`
    already has are dropped; `others` are deleted; an audit row `provider.merge`.
    """
    ids = [p.pk for p in others if p.pk != target.pk]
    handles = list(target.org_handles)
    for other in HostingProvider.objects.filter(pk__in=ids):
        handles += [h for h in other.org_handles if h not in handles]
    ProviderContact.objects.filter(provider_id__in=ids, email__in=target.contacts.values("email")).delete()
    for relation in HostingProvider._meta.related_objects:
        if relation.many_to_many:
            continue
        field = relation.field.name
        relation.related_model._base_manager.filter(**{f"{field}__in": ids}).update(**{field: target})
    HostingProvider.objects.filter(pk__in=ids).delete()
    target.org_handles = handles
    target.save(update_fields=["org_handles"])
    audit(actor=actor, action="provider.merge", obj=target, data={"merged": ids, "org_handles": handles})
