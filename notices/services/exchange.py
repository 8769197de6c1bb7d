"""Exchange with the hotline network: import of case packages (notices/schemas/exchange-v1.json), the record
of a hand-off's package, and the links that keep two hotlines from noticing one provider twice.

Import validates the whole document against the schema first: a problem outside the records (format,
version, sender) refuses the document; a record with problems is reported by its index and reference, and the
others are imported. Each record is imported on its own (a savepoint each), so one bad record never takes the
others with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime
from jsonschema import Draft202012Validator, FormatChecker

from notices.canonical import InvalidUrl, canonicalize
from notices.enums import ExchangeAction, Legality, NetworkClassification, PartnerRole
from notices.errors import NoticeError
from notices.infra.events import actor_label, record_event
from notices.models import HostingProvider, NetworkLink, Partner, Url
from notices.selectors.exchange import ASSESSMENT_FIELDS, FLAGS, case_package, exchange_schema
from notices.services.assessment import AssessmentError, assess_url
from notices.services.intake import ReportInput, submit_reports

LEGALITY = {
    NetworkClassification.BASELINE: Legality.ILLEGAL_INTERNATIONAL,
    NetworkClassification.NATIONAL: Legality.ILLEGAL_NATIONAL,
    NetworkClassification.NOT_ILLEGAL: Legality.NOT_ILLEGAL,
}
# A received case the sender has already noticed (or seen removed): our notice to that provider would be the
# second one, so it is held. A case handed off to us is ours to notice.
SENDER_NOTIFIED = frozenset({ExchangeAction.NOTICE_SENT, ExchangeAction.REMOVED})


class ExchangeError(ValueError):
    """The document as a whole cannot be imported: `{"field": ["message", …]}`."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass
class ImportResult:
    created: list[int] = field(default_factory=list)  # new cases (URL ids)
    linked: list[int] = field(default_factory=list)  # cases we had: the sender's reference recorded
    unchanged: list[int] = field(default_factory=list)  # already imported from this sender
    errors: list[dict] = field(default_factory=list)  # [{"index", "reference", "errors": [...]}]

    def summary(self) -> dict:
        return {
            "created": len(self.created),
            "linked": len(self.linked),
            "unchanged": len(self.unchanged),
            "failed": len(self.errors),
            "errors": self.errors,
        }


def _validator() -> Draft202012Validator:
    return Draft202012Validator(exchange_schema(), format_checker=FormatChecker())


def document_problems(document) -> tuple[dict[str, list[str]], dict[int, list[str]]]:
    """Schema problems: (of the document itself, {record index: [messages]}). Messages name the JSON path."""
    whole: dict[str, list[str]] = {}
    records: dict[int, list[str]] = {}
    for error in sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        path = list(error.absolute_path)
        if len(path) >= 2 and path[0] == "cases" and isinstance(path[1], int):
            where = "/".join(map(str, path[2:])) or "(record)"
            records.setdefault(path[1], []).append(f"{where}: {error.message[:300]}")
        else:
            inner = "/".join(map(str, path[1:]))
            message = f"{inner}: {error.message[:300]}" if inner else error.message[:300]
            whole.setdefault(str(path[0]) if path else "document", []).append(message)
    return whole, records


def import_package(
    *, document, now: datetime, user=None, progress: Callable[[int], None] | None = None
) -> ImportResult:
    """Import a case package another hotline sent.

    Side effects per valid record: the sender becomes a Partner (by name) if it is not one; a case we do not
    have is reported (a Report from that partner, its reference as `external_ref`, the record's hashes and
    reported time) and, with an assessment, assessed in the record's vocabulary at its assessed time (so a
    trace is queued, as for any assessed case); every imported record becomes a `received_from` NetworkLink
    holding the record, which holds our own notice when the sender had already noticed the provider
    (`url.network_linked` event). A record already imported from this sender changes nothing.
    Raises ExchangeError when the document is not a package (or is our own).
    """
    whole, per_record = document_problems(document)
    if whole:
        raise ExchangeError(whole)
    if _unstorable(document["sender"]):
        raise ExchangeError({"sender": _unstorable(document["sender"])})
    if document["sender"]["name"] == settings.HOTLINE_NAME:
        raise ExchangeError({"sender": ["This package is our own (the sender is this hotline)."]})
    partner = _partner(document["sender"])
    result = ImportResult()
    for index, record in enumerate(document["cases"]):
        problems = (
            per_record.get(index)
            or _unstorable(record)
            or _import_record(record, partner=partner, now=now, user=user, into=result)
        )
        if problems:
            result.errors.append({"index": index, "reference": record.get("reference"), "errors": problems})
        if progress:
            progress(1)
    return result


def _unstorable(record: dict) -> list[str]:
    """Text PostgreSQL cannot store (a NUL character, a lone surrogate): refused here, never a 500."""
    stack = [record]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend([*item.keys(), *item.values()])
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and ("\x00" in item or (not item.isascii() and _not_utf8(item))):
            return ["Text must not contain NUL characters or lone surrogates."]
    return []


def _not_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _partner(sender: dict) -> Partner:
    partner, _created = Partner.objects.get_or_create(
        name=sender["name"], defaults={"country": sender["country"] or ""}
    )
    return partner


def _import_record(record: dict, *, partner: Partner, now: datetime, user, into: ImportResult) -> list[str]:
    """Import one schema-valid record; returns its problems (nothing written then)."""
    try:
        canonical = canonicalize(record["url"])
    except InvalidUrl as exc:
        return [f"url: {exc}"]
    try:
        with transaction.atomic():
            url = Url.objects.filter(canonical_hash=canonical.hash).first()
            if (
                url is not None
                and url.network_links.filter(partner=partner, role=PartnerRole.RECEIVED_FROM).exists()
            ):
                into.unchanged.append(url.pk)
                return []
            if url is None:
                url = _new_case(record, partner=partner, now=now, user=user)
                into.created.append(url.pk)
            else:
                into.linked.append(url.pk)
            _link(url, partner=partner, record=record, now=now, user=user)
    except AssessmentError as exc:
        return [f"assessment/{name}: {' '.join(messages)}" for name, messages in exc.errors.items()]
    except (NoticeError, IntegrityError) as exc:
        return [str(exc)[:300]]
    return []


def _new_case(record: dict, *, partner: Partner, now: datetime, user) -> Url:
    stamps = record["timestamps"]
    item = ReportInput(
        url=record["url"],
        reported_at=parse_datetime(stamps["reported_at"]),
        external_ref=record["reference"][:200],
        notes=f"Received from {partner.name} (their reference {record['reference']}).",
        hashes=record["hashes"],
    )
    (result,) = submit_reports(items=[item], now=now, partner=partner)
    url = Url.objects.get(pk=result.url_id)
    if record["assessment"]:
        assessed_at = parse_datetime(stamps["assessed_at"]) if stamps["assessed_at"] else now
        assess_url(url=url, analyst=user, now=assessed_at, **_assessment_values(record))
    return url


def _assessment_values(record: dict) -> dict:
    """assess_url's arguments from a record's assessment (null → "not recorded")."""
    given = record["assessment"]
    values = {field_name: given[key] or "" for key, field_name in ASSESSMENT_FIELDS.items()}
    values |= {field_name: given[key] for key, field_name in FLAGS.items()}
    legality = LEGALITY[given["classification"]]
    if legality == Legality.ILLEGAL_INTERNATIONAL and not values["classification"]:
        values["classification"] = "baseline"  # X-ARF's own word for ICCAM's baseline
    return values | {
        "legality": legality,
        "commercial": given["commercial"],
        "payment_methods": given["payment_methods"],
        "outcome_reason": record["action"]["reason"] or "",
        "notes": "Assessment as received from the hotline network.",
    }


def _link(url: Url, *, partner: Partner, record: dict, now: datetime, user) -> NetworkLink:
    named = record["hosting"]["provider"]
    provider = HostingProvider.objects.filter(name__iexact=named).first() if named else None
    return link_case(
        url=url,
        partner=partner,
        role=PartnerRole.RECEIVED_FROM,
        reference=record["reference"],
        provider=provider,
        holds_notices=record["action"]["code"] in SENDER_NOTIFIED,
        package=record,
        now=now,
        user=user,
    )


def link_case(
    *,
    url: Url,
    partner: Partner,
    role: str,
    reference: str,
    provider: HostingProvider | None,
    holds_notices: bool,
    package: dict,
    now: datetime,
    user=None,
) -> NetworkLink:
    """Record another hotline's part in a case (one link per case, hotline and role; a repeat updates it).

    Side effects: the NetworkLink row, and a `url.network_linked` event naming the hotline, its reference and,
    the provider our notice is held for ("any" when the link names none, "none" when it holds nothing).
    """
    link, _created = NetworkLink.objects.update_or_create(
        url=url,
        partner=partner,
        role=role,
        defaults={
            "partner_reference": reference[:200],
            "provider": provider,
            "holds_notices": holds_notices,
            "package": package,
            "created_at": now,
        },
    )
    held = (provider.slug if provider else "any") if holds_notices else "none"
    record_event(
        "url.network_linked",
        at=now,
        url=url,
        actor=actor_label(user=user),
        data={"partner": partner.name, "role": role, "reference": reference[:200], "notices_held_for": held},
    )
    return link


def record_handoff(*, url: Url, partner: Partner, now: datetime, user=None) -> NetworkLink:
    """The hand-off record: the case's exchange package, kept as a `handed_off_to` link (the partner notifies
    the provider from now on, so our own notice to it is held). The hand-off mail attaches `link.package`."""
    return link_case(
        url=url,
        partner=partner,
        role=PartnerRole.HANDED_OFF_TO,
        reference="",
        provider=url.provider,
        holds_notices=True,
        package=case_package(url, now=now),
        now=now,
        user=user,
    )
