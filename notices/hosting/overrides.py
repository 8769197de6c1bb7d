"""Analysts' overrides: which one applies to a trace (URL, then host, then most specific prefix, then ASN)."""

from __future__ import annotations

from notices.infra import enqueue
from notices.infra.events import record_event
from notices.models import HostingOverride, Url


def matching_override(
    *, url: Url, ip: str | None, asn: int | None, scopes: tuple[str, ...] = ("url", "host", "prefix", "asn")
) -> HostingOverride | None:
    """The override that wins for this URL / address / AS, or None (one query for every scope)."""
    rank = {scope: i for i, scope in enumerate(("url", "host", "prefix", "asn"))}
    candidates = HostingOverride.objects.raw(
        "SELECT *, masklen(prefix) AS masklen FROM notices_hostingoverride WHERE url_id = %s OR host = %s "
        "OR (%s::inet IS NOT NULL AND prefix >>= %s::inet) OR asn = %s",
        [url.pk, url.host.lower(), ip, ip, asn],
    )
    found = [o for o in candidates if o.scope in scopes]
    found.sort(key=lambda o: (rank[o.scope], -(o.masklen or 0), -o.pk))
    return found[0] if found else None


def describe(override: HostingOverride) -> dict:
    """The override as a trace source answer."""
    return {
        "id": override.pk,
        "scope": override.scope,
        "provider": override.provider.slug if override.provider else None,
        "country": override.country,
        "abuse_emails": override.abuse_emails,
        "note": override.note,
    }


def create_override(
    *,
    url: Url,
    scope: str,
    provider=None,
    country: str = "",
    abuse_emails: list[str] | None = None,
    note: str = "",
    user=None,
    now,
    actor: str = "system",
) -> HostingOverride:
    """An analyst's correction for this URL's hosting, taken from the URL's current trace for prefix/ASN.

    Side effects: a HostingOverride row (URL: the case; host: the URL's host; prefix/ASN: the current trace's
    prefix / origin AS); a `url.override` event; a re-trace queued after commit so the trace shows it.
    Raises ValueError when the scope needs a trace value the URL does not have.
    """

    trace = url.current_trace
    target = {"url": {"url": url}, "host": {"host": url.host.lower()}}.get(scope)
    if scope == "prefix":
        target = {"prefix": trace.prefix} if trace and trace.prefix else None
    elif scope == "asn":
        target = {"asn": trace.asn} if trace and trace.asn else None
    if target is None:
        raise ValueError(f"the current trace has no {scope} to override")
    override = HostingOverride.objects.create(
        scope=scope,
        provider=provider,
        country=country.upper(),
        abuse_emails=abuse_emails or [],
        note=note,
        created_by=user,
        **target,
    )
    record_event(
        "url.override",
        at=now,
        url=url,
        actor=actor,
        data={"override": override.pk, "scope": scope, "provider": provider.pk if provider else None},
    )
    enqueue.after_commit(enqueue.TRACE_URL, url.pk)
    return override
