"""Tracing a URL to its hosting provider and storing the trace with every source consulted."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F, Func, IntegerField

from notices.hosting.dns import resolve_host
from notices.models import HostingTrace, RoutingPrefix, Url
from notices.services.events import record_event

# An override beats registry data, registry data beats routing data, at any prefix length.
SOURCE_RANK = {
    RoutingPrefix.Source.OVERRIDE: 0,
    RoutingPrefix.Source.REGISTRY: 1,
    RoutingPrefix.Source.DEMO: 1,
    RoutingPrefix.Source.ROUTING: 2,
}


def matching_prefixes(ip: str) -> list[RoutingPrefix]:
    """Every stored prefix containing `ip`, most specific first (GiST index on prefix)."""
    return list(
        RoutingPrefix.objects.filter(prefix__net_contains=ip)
        .annotate(masklen=Func(F("prefix"), function="masklen", output_field=IntegerField()))
        .select_related("provider")
        .order_by("-masklen")
    )


def _answer(prefixes: list[RoutingPrefix]) -> dict:
    """Pick provider, country, ASN and abuse addresses from the matches (most specific wins per source rank)."""
    ranked = sorted(prefixes, key=lambda p: (SOURCE_RANK[p.source], -p.masklen))
    with_provider = next((p for p in ranked if p.provider_id), None)
    provider = with_provider.provider if with_provider else None
    country = next((p.country for p in ranked if p.country), "") or (provider.country if provider else "")
    asn = next((p.asn for p in prefixes if p.asn), None)
    emails = next((p.abuse_emails for p in ranked if p.abuse_emails), [])
    if not emails and provider:
        emails = list(provider.contacts.filter(is_abuse=True, failing=False).values_list("email", flat=True))
    prefix = str(with_provider.prefix) if with_provider else (str(prefixes[0].prefix) if prefixes else "")
    return {"provider": provider, "country": country, "asn": asn, "abuse_emails": emails, "prefix": prefix}


def _source_entry(prefix: RoutingPrefix) -> dict:
    return {
        "source": prefix.source,
        "query": str(prefix.prefix),
        "answer": {
            "asn": prefix.asn,
            "org_handle": prefix.org_handle,
            "org_name": prefix.org_name,
            "country": prefix.country,
            "provider": prefix.provider.slug if prefix.provider else None,
            "abuse_emails": prefix.abuse_emails,
        },
    }


def trace_url(*, url: Url, now: datetime) -> HostingTrace:
    """Resolve the URL's host and look up who hosts it; store the trace and make it current.

    Side effects: a HostingTrace row (inputs, sources, answer); the URL's current trace, provider and traced_at;
    `is_hop` and a `url.hopped` event when provider or address differ from the previous trace; `url.traced`.
    """
    resolution = resolve_host(url.host)
    sources = [{"source": "dns", "query": url.host, "answer": {"ips": resolution.ips, "cnames": resolution.cnames,
                                                               "error": resolution.error}}]  # fmt: skip
    ip = resolution.ips[0] if resolution.ips else None
    prefixes = matching_prefixes(ip) if ip else []
    sources += [_source_entry(p) for p in prefixes]
    answer = _answer(prefixes)
    if ip is None:
        error = resolution.error or "no address"
    else:
        error = "" if prefixes else "no registry data for this address"
    with transaction.atomic():
        url = Url.objects.select_for_update().get(pk=url.pk)
        previous = HostingTrace.objects.filter(url=url).order_by("-traced_at", "-id").first()
        trace = HostingTrace.objects.create(
            url=url, traced_at=now, host=url.host, ips=resolution.ips, cnames=resolution.cnames, ip=ip,
            prefix=answer["prefix"], asn=answer["asn"], provider=answer["provider"], country=answer["country"],
            abuse_emails=answer["abuse_emails"], sources=sources, error=error,
            is_hop=previous is not None and (previous.provider_id, previous.ip) != (
                answer["provider"].pk if answer["provider"] else None, ip),
        )  # fmt: skip
        url.current_trace = trace
        url.traced_at = now
        if trace.provider_id or not url.provider_id:
            url.provider_id = trace.provider_id
        url.save(update_fields=["current_trace", "traced_at", "provider"])
        record_event(
            "url.traced", at=now, url=url, data={"ip": ip, "provider": trace.provider_id, "error": error}
        )
        if trace.is_hop:
            record_event("url.hopped", at=now, url=url, data={"from_ip": previous.ip, "to_ip": ip})
    return trace
