"""The networks above a hosting provider, from what its trace stored: where an escalation writes when the
provider does not act.

The trace keeps every source it consulted (`HostingTrace.sources`), the allocation holder (LIR) and the
origin AS's organisation. The upstream candidates, in the order an escalation tries them:

1. parent networks: the registry objects (imported inetnum/inet6num, hand-entered prefixes) around the
   provider's network that name another organisation or provider, most specific first;
2. the allocation holder (LIR), if it is not the provider itself;
3. the organisation of the origin AS (the network announcing the route);
4. announced prefixes entered by hand (`RoutingPrefix` routing rows: the transit), with their provider or
   abuse addresses.

Each candidate's abuse addresses: a known provider's working abuse contacts, else the registry's rule
(the organisation's `abuse-c` role and its `abuse-mailbox`), else the addresses the source listed;
placeholders (HOSTING_PLACEHOLDER_CONTACTS) never count. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from notices.hosting import registry
from notices.hosting.providers import provider_for_handle
from notices.hosting.rules import real_contacts
from notices.models import HostingProvider, HostingTrace, ProviderContact

LOCAL_NETWORKS = ("registry", "demo")


@dataclass
class Upstream:
    """A network above the provider: who, how the trace found it, and where to write."""

    name: str
    via: str
    emails: list[str] = field(default_factory=list)
    provider: HostingProvider | None = None

    @property
    def language(self) -> str:
        return self.provider.language if self.provider is not None else "en"


def upstreams(trace: HostingTrace) -> list[Upstream]:
    """The trace's upstream candidates in order (see the module docstring), each once."""
    own = _own_handles(trace)
    generations = registry.active_generations()
    found: list[Upstream] = []
    seen: set[str] = set()
    for key, candidate in _candidates(trace, own):
        if key in seen:
            continue
        seen.add(key)
        found.append(candidate(generations))
    return found


def _own_handles(trace: HostingTrace) -> set[str]:
    handles = {trace.org_handle} if trace.org_handle else set()
    if trace.provider is not None:
        handles |= set(trace.provider.org_handles)
    return handles


def _candidates(trace: HostingTrace, own: set[str]):
    """(dedupe key, builder) per candidate, in order: steps 1–4."""
    own_slug = trace.provider.slug if trace.provider is not None else None
    for source in trace.sources:
        answer, query = source.get("answer") or {}, source.get("query", "")
        if source.get("source") == "ripe-inetnum" and answer.get("org") and answer["org"] not in own:
            yield answer["org"], _by_handle(answer["org"], f"parent network {query}")
        elif source.get("source") in LOCAL_NETWORKS and _other(answer, own, own_slug):
            yield _local_key(answer, query), _by_local(answer, f"parent network {query}")
    if trace.allocation_holder and trace.allocation_holder not in own:
        yield trace.allocation_holder, _by_handle(trace.allocation_holder, "allocation holder (LIR)")
    if trace.origin_as_org and trace.origin_as_org not in own:
        yield (
            trace.origin_as_org,
            _by_handle(trace.origin_as_org, f"organisation of the origin AS{trace.asn}"),
        )
    for source in trace.sources:
        answer, query = source.get("answer") or {}, source.get("query", "")
        if source.get("source") == "routing" and _other(answer, own, own_slug):
            asn = f" (AS{answer['asn']})" if answer.get("asn") else ""
            yield _local_key(answer, query), _by_local(answer, f"network announcing {query}{asn}")


def _other(answer: dict, own: set[str], own_slug: str | None) -> bool:
    """A hand-entered network that names someone other than the provider."""
    if answer.get("provider"):
        return answer["provider"] != own_slug
    if answer.get("org_handle"):
        return answer["org_handle"] not in own
    return bool(answer.get("org_name") or answer.get("abuse_emails"))


def _local_key(answer: dict, query: str) -> str:
    return answer.get("provider") or answer.get("org_handle") or f"prefix:{query}"


def _by_handle(handle: str, via: str):
    def build(generations: dict[str, int]) -> Upstream:
        provider = provider_for_handle(handle)
        if provider is not None:
            return Upstream(provider.name, f"{via} {handle}", _working(provider), provider)
        org = registry.organisation(handle, generations)
        role = registry.role(org.abuse_c, generations) if org is not None and org.abuse_c else None
        emails = real_contacts(list(role.abuse_mailboxes)) if role is not None else []
        return Upstream(org.name if org is not None else handle, f"{via} {handle}", emails)

    return build


def _by_local(answer: dict, via: str):
    def build(_generations: dict[str, int]) -> Upstream:
        slug = answer.get("provider")
        provider = HostingProvider.objects.filter(slug=slug).first() if slug else None
        listed = real_contacts(list(answer.get("abuse_emails") or []))
        if provider is not None:
            return Upstream(provider.name, via, _working(provider) or listed, provider)
        if answer.get("org_handle") and (known := provider_for_handle(answer["org_handle"])) is not None:
            return Upstream(known.name, via, _working(known) or listed, known)
        return Upstream(answer.get("org_name") or answer.get("org_handle") or via, via, listed)

    return build


def _working(provider: HostingProvider) -> list[str]:
    return list(
        ProviderContact.objects.filter(provider=provider, is_abuse=True, failing=False)
        .order_by("pk")
        .values_list("email", flat=True)
    )
