"""Imported organisations → HostingProvider rows, so statistics group by the real provider, not the
netblock."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from notices.hosting.rules import DERIVED_PREFIX, country_code, real_contacts
from notices.infra.events import audit
from notices.models import HostingProvider, ProviderContact


def provider_for_handle(handle: str) -> HostingProvider | None:
    """The provider an organisation handle belongs to (the oldest, should analysts have listed it twice)."""
    if not handle:
        return None
    return HostingProvider.objects.filter(org_handles__contains=[handle]).order_by("pk").first()


def provider_for_org(*, handle: str, name: str, country: str, abuse_emails: list[str]) -> HostingProvider:
    """The provider of an organisation, created on first sight.

    Side effects on creation: a HostingProvider (slug from the handle, the org's name and `country`: the
    org's, else its network's) with the org's real abuse addresses as its contacts. A provider already known
    without a country gets `country`. Concurrent workers seeing the same new org create it once.
    """
    return _provider_for(
        handle=handle,
        slug=slugify(handle)[:80] or "org",
        name=name or handle,
        country=country,
        abuse_emails=abuse_emails,
        contact_name="Registry abuse contact",
    )


def is_derived(provider: HostingProvider) -> bool:
    """Made by the trace from an abuse contact, because the registry names no organisation."""
    return any(handle.startswith(DERIVED_PREFIX) for handle in provider.org_handles)


def provider_for_contact(
    *, kind: str, key: str, name: str, country: str, abuse_emails: list[str]
) -> HostingProvider:
    """The provider of a network whose registry data names an abuse contact but no organisation.

    `kind` and `key` say what identifies it (`abuse-c` and the role's handle; else `netname` or
    `abuse-mailbox`). Side effects on creation: a HostingProvider marked derived (its org handle is
    `derived:<kind>:<key>`) named `name`, with `country` and the abuse addresses as its contacts, so a notice
    can go to them; a provider already known without a country gets `country`.
    """
    handle = f"{DERIVED_PREFIX}{kind}:{key}"
    return _provider_for(
        handle=handle,
        slug=f"derived-{slugify(f'{kind}-{key}')}"[:80],
        name=name or key,
        country=country,
        abuse_emails=abuse_emails,
        contact_name=f"Registry abuse contact ({kind} {key}; the registry names no organisation)",
    )


def _provider_for(
    *, handle: str, slug: str, name: str, country: str, abuse_emails: list[str], contact_name: str
) -> HostingProvider:
    provider = provider_for_handle(handle)
    if provider is not None:
        learn_country(provider, country)
        return provider
    try:
        with transaction.atomic():
            provider, created = HostingProvider.objects.get_or_create(
                slug=slug,
                defaults={"name": name[:200], "country": country_code(country), "org_handles": [handle]},
            )
    except IntegrityError:  # another worker created it between our get and create
        provider, created = HostingProvider.objects.get(slug=slug), False
    if created:
        for address in real_contacts(abuse_emails):
            ProviderContact.objects.get_or_create(
                provider=provider, email=address, defaults={"name": contact_name[:200]}
            )
        return provider
    learn_country(provider, country)
    if handle not in provider.org_handles:
        provider.org_handles = [*provider.org_handles, handle]
        provider.save(update_fields=["org_handles"])
    return provider


def learn_country(provider: HostingProvider, country: str) -> None:
    """Give a provider that has no country yet the one a trace found (never replaces a country it has).

    Side effect: one conditional UPDATE, so an analyst's country entered meanwhile is kept.
    """
    code = country_code(country)
    if provider.country or not code:
        return
    if HostingProvider.objects.filter(pk=provider.pk, country="").update(country=code):
        provider.country = code


@transaction.atomic
def provider_references() -> list:
    """Every foreign key to a provider, hidden ones (`related_name="+"`, such as the provider a case was
    counted against at notice time) included: a merge must move them all, or deleting the merged provider
    clears them."""
    return [
        field
        for field in HostingProvider._meta.get_fields(include_hidden=True)
        if field.auto_created and not field.concrete and (field.one_to_many or field.one_to_one)
    ]


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
    for relation in provider_references():
        field = relation.field.name
        relation.related_model._base_manager.filter(**{f"{field}__in": ids}).update(**{field: target})
    HostingProvider.objects.filter(pk__in=ids).delete()
    target.org_handles = handles
    target.save(update_fields=["org_handles"])
    audit(actor=actor, action="provider.merge", obj=target, data={"merged": ids, "org_handles": handles})
