"""Reads for the hotline network: cases as exchange records (notices/schemas/exchange-v1.json), the other
hotlines' references of a case, and which cases' notices are held because another hotline notifies.

A record says what the network knows of the case. What we did ourselves wins; where we have not acted (a case
we received and have not noticed yet) the received record's action, hosting and timestamps stand, and the
case keeps the originating hotline's reference — the case's identity in the network — so a case passed on
travels under one reference however many hotlines it crosses.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db.models import F, OuterRef, Prefetch, Q, QuerySet

from notices.enums import ExchangeAction, PartnerRole, UrlStatus
from notices.models import NetworkLink, Report, Url

FORMAT = "hotline-exchange"
VERSION = 1
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "exchange-v1.json"
ASSESSMENT_FIELDS = {  # record key → Assessment field ("" is stored for "not recorded", null in a record)
    "xarf_classification": "classification",
    "media_type": "media_type",
    "age_band": "age_band",
    "gender": "victim_gender",
    "site_type": "site_type",
}
FLAGS = {
    "virtual": "virtual_content",
    "user_generated": "user_generated",
    "child_modelling": "child_modelling",
}


@lru_cache(maxsize=1)
def exchange_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def sender() -> dict:
    return {"name": settings.HOTLINE_NAME, "country": settings.HOTLINE_COUNTRY or None}


def exchange_cases(*, since: datetime | None = None, ids: Iterable[int] | None = None) -> QuerySet[Url]:
    """The cases an export covers: every case not purged (assessed or reported), optionally only those
    reported since `since` or named by id, in id order, with what their records need loaded."""
    cases = Url.objects.filter(purged_at__isnull=True)
    if since is not None:
        cases = cases.filter(first_reported_at__gte=since)
    if ids is not None:
        cases = cases.filter(pk__in=list(ids))
    return (
        cases.select_related("current_assessment", "current_trace", "provider")
        .prefetch_related(
            Prefetch("reports", queryset=Report.objects.only("url_id", "hashes")),
            Prefetch("network_links", queryset=NetworkLink.objects.select_related("partner").order_by("pk")),
        )
        .order_by("pk")
    )


def package(records: Iterable[dict], *, now: datetime) -> dict:
    """The whole document: header and records."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "generated_at": _stamp(now),
        "sender": sender(),
        "cases": list(records),
    }


def case_records(cases: Iterable[Url]) -> Iterator[dict]:
    for case in cases:
        yield case_record(case)


def case_package(url: Url, *, now: datetime) -> dict:
    """The exchange package for one case (what a hand-off to a partner hotline carries)."""
    return package([case_record(exchange_cases(ids=[url.pk]).get())], now=now)


def case_record(url: Url) -> dict:
    """One case in the exchange format (url loaded by `exchange_cases`, or any Url: it then queries)."""
    links = list(url.network_links.all())
    received = next((link for link in links if link.role == PartnerRole.RECEIVED_FROM), None)
    earlier = received.package if received else {}
    action, first_acted = _action(url)
    actioned_at = _stamp(first_acted)
    if action == ExchangeAction.NONE and earlier:
        action, actioned_at = earlier["action"]["code"], earlier["timestamps"]["actioned_at"]
    assessment = url.current_assessment
    return {
        "reference": earlier.get("reference") or str(url.pk),
        "origin": earlier.get("origin") or sender(),
        "url": url.canonical,
        "hosting": _hosting(url)
        or earlier.get("hosting")
        or {"country": None, "asn": None, "provider": None},
        "assessment": _assessment(assessment) if assessment else None,
        "hashes": _hashes(url.reports.all()),
        "timestamps": {
            "reported_at": _stamp(url.first_reported_at),
            "assessed_at": _stamp(assessment.created_at) if assessment else None,
            "actioned_at": actioned_at,
            "removed_at": _stamp(url.removal_confirmed_at)
            or (earlier["timestamps"]["removed_at"] if earlier else None),
        },
        "action": {"code": action, "reason": (assessment.outcome_reason or None) if assessment else None},
        "references": _references(links, earlier),
    }


def _action(url: Url) -> tuple[str, datetime | None]:
    """What we did with the case, and when we first acted."""
    if url.status == UrlStatus.REMOVED:
        return ExchangeAction.REMOVED, url.first_notice_sent_at
    if url.status in {UrlStatus.CLOSED, UrlStatus.NOT_ILLEGAL, UrlStatus.GONE_BEFORE_NOTICE}:
        return ExchangeAction.CLOSED, url.first_notice_sent_at or url.closed_at
    if url.handed_off_to_id:
        return ExchangeAction.HANDED_OFF, url.first_notice_sent_at
    if url.first_notice_sent_at:
        return ExchangeAction.NOTICE_SENT, url.first_notice_sent_at
    if url.le_referred_at:
        return ExchangeAction.LAW_ENFORCEMENT, url.le_referred_at
    return ExchangeAction.NONE, None


def _hosting(url: Url) -> dict | None:
    trace, provider = url.current_trace, url.provider
    if trace is None and provider is None:
        return None
    return {
        "country": (trace.country if trace and trace.country else "")
        or (provider.country if provider else "")
        or None,
        "asn": trace.asn if trace else None,
        "provider": provider.name if provider else None,
    }


def _assessment(assessment) -> dict:
    record = {"classification": assessment.network_classification}
    record |= {key: getattr(assessment, field) or None for key, field in ASSESSMENT_FIELDS.items()}
    record |= {key: getattr(assessment, field) for key, field in FLAGS.items()}
    record |= {"commercial": assessment.commercial, "payment_methods": sorted(assessment.payment_methods)}
    return record


def _hashes(reports) -> list[dict]:
    pairs = {(h["algorithm"], h["value"]) for report in reports for h in report.hashes}
    return [{"algorithm": algorithm, "value": value} for algorithm, value in sorted(pairs)]


def _references(links: list[NetworkLink], earlier: dict) -> list[dict]:
    """Other hotlines' references: the ones a received record named, and our own links, minus the origin."""
    origin = (earlier.get("origin") or {}).get("name")
    pairs = {(r["hotline"], r["reference"]) for r in earlier.get("references", [])}
    pairs |= {(link.partner.name, link.partner_reference) for link in links}
    return [
        {"hotline": h, "reference": r} for h, r in sorted(pairs) if h != origin and h != settings.HOTLINE_NAME
    ]


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def held_urls(url_ids: Iterable[int]) -> dict[int, NetworkLink]:
    """The given cases whose notice to their current provider is held: another hotline notifies that provider
    (a link that holds notices and names that provider, or none). One query for a batch."""
    links = (
        NetworkLink.objects.filter(url_id__in=list(url_ids), holds_notices=True)
        .filter(Q(provider__isnull=True) | Q(provider_id=F("url__provider_id")))
        .select_related("partner")
        .order_by("pk")
    )
    held: dict[int, NetworkLink] = {}
    for link in links:
        held.setdefault(link.url_id, link)
    return held


def held_link() -> QuerySet[NetworkLink]:
    """For an Exists() over URLs (`OuterRef` = a Url row): a link holding its notice to its provider."""
    return NetworkLink.objects.filter(url=OuterRef("pk"), holds_notices=True).filter(
        Q(provider__isnull=True) | Q(provider_id=OuterRef("provider_id"))
    )
