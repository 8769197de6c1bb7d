"""Tracing a URL to its hosting provider and storing the trace with every source consulted.

The trace, step by step (each step appends what it asked and what it got to `sources`):
1. DNS: A and AAAA with the CNAME chain (DNS_RESOLVER); the first address is traced.
2. Hand-entered and demo prefixes (RoutingPrefix) containing the address.
3. Routing: longest-prefix match in the active pyasn / MMDB ASN data → announced prefix and origin AS.
4. Registry: every imported inetnum/inet6num containing the address, most specific first.
5. No registry object at all (imported or hand-entered): RDAP, live (notices.hosting.rdap).
6. Provider: the organisation of the most specific object that names one (created as a HostingProvider on
   first sight, with the org's country, else its network's, else where step 7 locates the address); the
   allocation holder (LIR) and the origin AS's organisation are recorded beside it. No object names an
   organisation but the abuse-c climb finds a contact: a provider derived from that contact's role (else the
   network's name, else the address), marked derived, so the notice can go.
7. Country: override > most specific registry object > RIR delegated stats > MMDB > the provider's country
   ("EU" and the like mean unknown).
8. Abuse contact by RIPE's rule (notices.hosting.abuse); the provider's own abuse contacts if none.
9. CDN / reverse proxy (HOSTING_INTERMEDIARIES): the network is marked as the intermediary and the origin is
   unknown — until an analyst enters it as a URL or host override.
10. Overrides (URL > host > prefix > ASN) win over everything above.
A trace whose provider, address or country differs from the URL's previous trace is a hop (a country only when
both traces know one: a trace that found none proves no move).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Func, IntegerField

from notices.hosting import rdap, registry
from notices.hosting.abuse import AbuseContact, find_abuse_contact
from notices.hosting.dns import resolve_host
from notices.hosting.overrides import describe, matching_override
from notices.hosting.providers import learn_country, provider_for_contact, provider_for_org
from notices.hosting.rules import country_code, intermediary_reason, real_contacts
from notices.hosting.state import Network, TraceState, organisation
from notices.infra.events import record_event
from notices.models import HostingOverride, HostingProvider, HostingTrace, RoutingPrefix, Url

LOCAL_NETWORK_SOURCES = (RoutingPrefix.Source.REGISTRY, RoutingPrefix.Source.DEMO)


def _masklen(name: str) -> Func:
    return Func(F(name), function="masklen", output_field=IntegerField())


# --- Steps 2–5: gather --------------------------------------------------------------------------------------


def local_prefixes(state: TraceState) -> None:
    """Step 2: hand-entered and demo prefixes, most specific first."""
    rows = (
        RoutingPrefix.objects.filter(prefix__net_contains=state.ip)
        .annotate(masklen=_masklen("prefix"))
        .select_related("provider")
        .order_by("-masklen")
    )
    for row in rows:
        state.note(
            row.source,
            str(row.prefix),
            {
                "asn": row.asn,
                "org_handle": row.org_handle,
                "org_name": row.org_name,
                "country": row.country,
                "provider": row.provider.slug if row.provider else None,
                "abuse_emails": row.abuse_emails,
            },
        )
        if row.asn and row.masklen > state.asn_specificity:
            state.asn, state.asn_specificity, state.announced = row.asn, row.masklen, str(row.prefix)
        if row.source in LOCAL_NETWORK_SOURCES:
            state.networks.append(
                Network(
                    (row.masklen, 1),
                    str(row.prefix),
                    row.org_handle,
                    row.org_name,
                    row.provider,
                    row.country,
                    list(row.abuse_emails),
                )
            )
        else:
            state.local_routing.append(row)


def routing(state: TraceState) -> None:
    """Step 3: the announced prefix and origin AS; the origin AS's organisation from aut-num."""
    found = registry.announced_prefix(state.ip, state.generations)
    if found is not None:
        dataset, row = found
        state.note(dataset, str(row.prefix), {"asn": row.asn, "as_org": row.as_org})
        if row.masklen > state.asn_specificity:
            state.asn, state.asn_specificity, state.announced = row.asn, row.masklen, str(row.prefix)
    autnum = registry.aut_num(state.asn, state.generations)
    if autnum is not None:
        state.origin_as_org = autnum.org
        state.note("ripe-aut-num", f"AS{autnum.asn}", {"as_name": autnum.as_name, "org": autnum.org})


def imported_registry(state: TraceState) -> None:
    """Step 4: imported inetnum/inet6num objects containing the address, most specific first."""
    for obj in registry.inetnum_chain(state.ip, state.generations):
        state.note(
            "ripe-inetnum",
            obj.range_text,
            {
                "netname": obj.netname,
                "country": obj.country,
                "org": obj.org,
                "abuse_c": obj.abuse_c,
                "status": obj.status,
                "mnt_by": obj.mnt_by.split(),
            },
        )
        state.networks.append(
            Network(
                (obj.masklen, 0),
                str(obj.cidr),
                obj.org,
                country=obj.country,
                inetnum=obj,
                netname=obj.netname,
            )
        )


def rdap_fallback(state: TraceState) -> None:
    """Step 5: nothing known about the network locally → ask RDAP (never fatal)."""
    answer = rdap.lookup(state.ip)
    state.note("rdap", state.ip, answer)
    if answer.get("error"):
        return
    prefix = answer["cidrs"][0] if answer["cidrs"] else answer["range"]
    length = int(prefix.rsplit("/", 1)[1]) if "/" in prefix else 0
    state.networks.append(
        Network(
            (length, 0),
            prefix,
            answer["org_handle"],
            answer["org_name"],
            country=answer["country"],
            abuse_emails=answer["abuse_emails"],
            netname=answer["name"] or answer["handle"],
            abuse_handle=answer["abuse_handle"],
            abuse_name=answer["abuse_name"],
        )
    )


# --- Steps 6–8: decide --------------------------------------------------------------------------------------


def provider_of(
    state: TraceState, network: Network, abuse_emails: list[str], located: str
) -> HostingProvider:
    """Step 6: the provider the network names. Its country: the org's, else the network's, else where the
    trace located the address (`located`, step 7 without override) — "EU" and the like count as none."""
    if network.provider is not None:
        learn_country(network.provider, country_code(network.country) or located)
        return network.provider
    org = organisation(state, network.org_handle)
    country = country_code(org.country if org else "") or country_code(network.country) or located
    return provider_for_org(
        handle=network.org_handle,
        name=org.name if org else network.org_name,
        country=country,
        abuse_emails=abuse_emails,
    )


def derived_provider(state: TraceState, contact: AbuseContact, located: str) -> HostingProvider:
    """Step 6 when no network names an organisation but the abuse-c climb found whom to write to: a provider
    derived from the abuse contact's role (else the network's name, else the address), marked derived."""
    network = contact.network
    if contact.handle:
        kind, key, name = "abuse-c", contact.handle, contact.name
    elif network.netname:
        kind, key, name = "netname", network.netname, network.netname
    else:
        kind, key, name = "abuse-mailbox", contact.emails[0], contact.emails[0].rpartition("@")[2]
    if not name and network.inetnum is not None:
        name = next(iter(network.inetnum.mnt_by.split()), "") or network.netname
    provider = provider_for_contact(
        kind=kind,
        key=key,
        name=name or network.netname,
        country=country_code(network.country) or located,
        abuse_emails=contact.emails,
    )
    state.note(
        "derived-provider",
        f"{kind}:{key}",
        {
            "provider": provider.slug,
            "network": network.prefix,
            "abuse_emails": contact.emails,
            "why": "the registry names no organisation for this network",
        },
    )
    return provider


def allocation_holder(state: TraceState) -> str:
    """The LIR: the org of the allocation (status ALLOCATED …, not RIPE NCC's own ALLOCATED UNSPECIFIED)."""
    for network in state.networks:
        status = network.inetnum.status if network.inetnum else ""
        if status.startswith("ALLOCATED") and status != "ALLOCATED UNSPECIFIED" and network.org_handle:
            return network.org_handle
    return ""


def located_country(state: TraceState) -> tuple[str, str]:
    """Step 7 without the override and the provider's country: (country, which source gave it)."""
    for network in state.networks:
        if code := country_code(network.country):
            return code, "registry"
    for dataset in ("delegated", "mmdb-country"):
        block = registry.country_block(state.ip, dataset, state.generations)
        if block is not None:
            state.note(dataset, str(block.prefix), {"country": block.country, "registry": block.registry})
            if code := country_code(block.country):
                return code, dataset.split("-")[0]
    for row in state.local_routing:
        if code := country_code(row.country):
            return code, "routing"
    return "", ""


@dataclass
class Answer:
    prefix: str = ""
    provider: HostingProvider | None = None
    org_handle: str = ""
    country: str = ""
    country_source: str = ""
    abuse_emails: list[str] = field(default_factory=list)
    intermediary: HostingProvider | None = None
    origin_unknown: bool = False
    override: HostingOverride | None = None


def decide(state: TraceState) -> Answer:
    """Steps 6–10 over what was gathered."""
    state.networks.sort(key=lambda n: n.specificity, reverse=True)
    contact = find_abuse_contact(state)
    located = located_country(state)
    named = next((n for n in state.networks if n.provider is not None or n.org_handle), None)
    answer = Answer(prefix=named.prefix if named else _most_specific_prefix(state))
    if named is not None:
        answer.provider = provider_of(state, named, contact.emails, located[0])
        answer.org_handle = named.org_handle or (
            named.provider.org_handles[0] if named.provider.org_handles else ""
        )
    elif contact.emails:
        answer.provider, answer.prefix = derived_provider(state, contact, located[0]), contact.network.prefix
    answer.country, answer.country_source = located
    if not answer.country and answer.provider is not None and answer.provider.country:
        answer.country, answer.country_source = answer.provider.country, "provider"
    answer.abuse_emails = contact.emails or _provider_contacts(answer.provider)
    mark_intermediary(state, answer)
    apply_override(state, answer)
    return answer


def _most_specific_prefix(state: TraceState) -> str:
    return state.networks[0].prefix if state.networks else state.announced


def _provider_contacts(provider: HostingProvider | None) -> list[str]:
    if provider is None:
        return []
    return list(provider.contacts.filter(is_abuse=True, failing=False).values_list("email", flat=True))


def mark_intermediary(state: TraceState, answer: Answer) -> None:
    """Step 9: a CDN's network names the CDN, not the host; the origin is unknown (country too)."""
    reason = intermediary_reason(state.ip, state.asn)
    if not reason:
        return
    state.note("intermediary", reason, {"provider": answer.provider.slug if answer.provider else None})
    answer.intermediary, answer.provider = answer.provider, None
    answer.origin_unknown, answer.country, answer.country_source = True, "", ""


def apply_override(state: TraceState, answer: Answer) -> None:
    """Step 10: an analyst's override wins. Behind a CDN only a URL or host override names the origin."""
    scopes = ("url", "host") if answer.origin_unknown else ("url", "host", "prefix", "asn")
    override = matching_override(url=state.url, ip=state.ip, asn=state.asn, scopes=scopes)
    if override is None:
        return
    state.note("override", override.scope, describe(override))
    answer.override, answer.origin_unknown = override, False
    if override.prefix is not None:
        answer.prefix = str(override.prefix)
    if override.provider is not None:
        answer.provider = override.provider
        answer.abuse_emails = _provider_contacts(override.provider) or answer.abuse_emails
    if override.abuse_emails:
        answer.abuse_emails = real_contacts(list(override.abuse_emails))
    if override.country:
        answer.country, answer.country_source = override.country, "override"


# --- The trace ----------------------------------------------------------------------------------------------


def gather(state: TraceState) -> None:
    """Steps 2–5."""
    local_prefixes(state)
    routing(state)
    imported_registry(state)
    if not state.networks and (settings.RDAP_BASE_URL or settings.RDAP_BOOTSTRAP_FILE):
        rdap_fallback(state)


def trace_url(*, url: Url, now: datetime) -> HostingTrace:
    """Resolve the URL's host and work out who hosts it; store the trace and make it current.

    Side effects: a HostingTrace row (inputs, sources, answer); a HostingProvider (with its registry abuse
    contacts) for an organisation seen for the first time; the URL's current trace, provider and traced_at;
    `is_hop` and a `url.hopped` event when provider, address or (both known) country differ from the previous
    trace (`_is_hop`); `url.traced`.
    """
    resolution = resolve_host(url.host)
    state = TraceState(url=url)
    state.note(
        "dns", url.host, {"ips": resolution.ips, "cnames": resolution.cnames, "error": resolution.error}
    )
    state.ip = resolution.ips[0] if resolution.ips else None
    answer = Answer()
    if state.ip is not None:
        gather(state)
        answer = decide(state)
    error = _error(state, resolution.error)
    return _store(url, now, resolution, state, answer, error)


def _error(state: TraceState, dns_error: str) -> str:
    if state.ip is None:
        return dns_error or "no address"
    known = state.networks or state.announced or state.local_routing
    return "" if known else "no registry data for this address"


def _is_hop(previous: HostingTrace | None, provider_id: int | None, ip: str | None, country: str) -> bool:
    """Whether a trace answering (provider, address, country) moved from `previous`: another provider or
    address, or another country where both know one."""
    if previous is None:
        return False
    moved_country = bool(previous.country and country and previous.country != country)
    return (previous.provider_id, previous.ip) != (provider_id, ip) or moved_country


def _store(
    url: Url, now: datetime, resolution, state: TraceState, answer: Answer, error: str
) -> HostingTrace:
    with transaction.atomic():
        with connection.cursor() as cursor:
            # A trace can always be taken again: not waiting for the WAL flush on commit saves a disk flush
            # per trace (P11); a crash loses at most the last fraction of a second of traces, never
            # consistency.
            cursor.execute("SET LOCAL synchronous_commit = off")
        url = Url.objects.select_for_update().get(pk=url.pk)
        previous = HostingTrace.objects.filter(url=url).order_by("-traced_at", "-id").first()
        provider_id = answer.provider.pk if answer.provider else None
        trace = HostingTrace.objects.create(
            url=url,
            traced_at=now,
            host=url.host,
            ips=resolution.ips,
            cnames=resolution.cnames,
            ip=state.ip,
            prefix=answer.prefix,
            asn=state.asn,
            provider=answer.provider,
            country=answer.country,
            abuse_emails=answer.abuse_emails,
            sources=state.sources,
            error=error,
            org_handle=answer.org_handle,
            allocation_holder=allocation_holder(state),
            origin_as_org=state.origin_as_org,
            country_source=answer.country_source,
            intermediary=answer.intermediary,
            origin_unknown=answer.origin_unknown,
            override=answer.override,
            is_hop=_is_hop(previous, provider_id, state.ip, answer.country),
        )
        url.current_trace, url.traced_at = trace, now
        if trace.provider_id or not url.provider_id:
            url.provider_id = trace.provider_id
        url.save(update_fields=["current_trace", "traced_at", "provider"])
        record_event(
            "url.traced", at=now, url=url, data={"ip": state.ip, "provider": provider_id, "error": error}
        )
        if trace.is_hop:
            record_event("url.hopped", at=now, url=url, data={"from_ip": previous.ip, "to_ip": state.ip})
    return trace
