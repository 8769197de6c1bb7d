"""Intake: a report names a URL; one canonical URL is one case however many reports name it."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from psycopg2.extras import execute_values

from notices.canonical import CanonicalUrl, InvalidUrl, canonicalize
from notices.enums import UrlStatus
from notices.models import Report, Url
from notices.services.events import record_event


@dataclass(frozen=True)
class ReportInput:
    """One report as a partner or analyst submits it (validated fields, URL still raw)."""

    url: str
    reported_at: datetime | None = None
    external_ref: str = ""
    notes: str = ""
    hashes: Sequence[dict] = field(default_factory=tuple)


@dataclass(frozen=True)
class IntakeResult:
    report_id: int
    receipt: str
    duplicate: bool
    url_id: int
    canonical: str
    status: str


def new_receipt() -> str:
    """An opaque receipt the partner can quote later."""
    return "rcpt_" + secrets.token_urlsafe(18)


def submit_report(*, item: ReportInput, now: datetime, partner=None, user=None) -> IntakeResult:
    """Record one report and its URL case.

    Side effects: inserts the URL if its canonical form is new (status `new`, event `url.created`), always
    inserts a Report; a known URL gets `duplicate=True`. Raises InvalidUrl for a URL that cannot be tracked.
    """
    return submit_reports(items=[item], now=now, partner=partner, user=user)[0]


def submit_reports(
    *, items: Sequence[ReportInput], now: datetime, partner=None, user=None
) -> list[IntakeResult]:
    """Record many reports in one transaction (the bulk path: set-based SQL, no per-row ORM saves).

    All items must be valid (callers validate with `canonicalize` first); raises InvalidUrl otherwise and
    writes nothing. Returns one result per item, in order.
    """
    parsed = [canonicalize(item.url) for item in items]
    with transaction.atomic():
        url_ids, created = _upsert_urls(parsed, items, now)
        results = _insert_reports(items, parsed, url_ids, created, now=now, partner=partner, user=user)
        _record_created_events(created, url_ids, now)
    return results


def _upsert_urls(
    parsed: Sequence[CanonicalUrl], items: Sequence[ReportInput], now: datetime
) -> tuple[dict[bytes, int], set[bytes]]:
    """INSERT … ON CONFLICT DO NOTHING, then read back every id. Returns (hash → id, hashes created now)."""
    rows, seen = [], set()
    for canon, item in zip(parsed, items, strict=True):
        if canon.hash in seen:
            continue
        seen.add(canon.hash)
        reported = item.reported_at or now
        rows.append((item.url, canon.canonical, canon.hash, canon.host, UrlStatus.NEW.value, reported, now))
    table = Url._meta.db_table
    with connection.cursor() as cursor:
        inserted = execute_values(
            cursor.cursor,
            f"""INSERT INTO {table} (original, canonical, canonical_hash, host, status, first_reported_at,
                  created_at, consecutive_gone, reappearance_count, asn_at_notice, country_at_notice,
                  notice_type_at_notice, last_outcome)
                SELECT v.o, v.c, v.h, v.host, v.s, v.r::timestamptz, v.n::timestamptz, 0, 0, NULL, '', '', ''
                FROM (VALUES %s) AS v(o, c, h, host, s, r, n)
                ON CONFLICT (canonical_hash) DO NOTHING RETURNING canonical_hash""",
            rows,
            page_size=1000,
            fetch=True,
        )
        created = {bytes(row[0]) for row in inserted}
        cursor.execute(
            f"SELECT canonical_hash, id FROM {table} WHERE canonical_hash = ANY(%s)",
            [[row[2] for row in rows]],
        )
        ids = {bytes(h): pk for h, pk in cursor.fetchall()}
    return ids, created


def _insert_reports(items, parsed, url_ids, created, *, now, partner, user) -> list[IntakeResult]:
    first_seen: set[bytes] = set()
    reports = []
    for item, canon in zip(items, parsed, strict=True):
        duplicate = canon.hash not in created or canon.hash in first_seen
        first_seen.add(canon.hash)
        reports.append(
            Report(
                url_id=url_ids[canon.hash],
                partner=partner,
                submitted_by=user if getattr(user, "is_authenticated", False) else None,
                original_url=item.url,
                reported_at=item.reported_at or now,
                received_at=now,
                external_ref=item.external_ref,
                notes=item.notes,
                hashes=list(item.hashes),
                receipt=new_receipt(),
                duplicate=duplicate,
            )
        )
    Report.objects.bulk_create(reports, batch_size=1000)
    statuses = dict(Url.objects.filter(id__in=set(url_ids.values())).values_list("id", "status"))
    return [
        IntakeResult(
            report_id=r.pk,
            receipt=r.receipt,
            duplicate=r.duplicate,
            url_id=r.url_id,
            canonical=canon.canonical,
            status=statuses[r.url_id],
        )
        for r, canon in zip(reports, parsed, strict=True)
    ]


def _record_created_events(created: Iterable[bytes], url_ids: dict[bytes, int], now: datetime) -> None:
    from notices.models import Event

    Event.objects.bulk_create(
        [Event(kind="url.created", at=now, url_id=url_ids[h], actor="system") for h in created],
        batch_size=1000,
    )


def validate_url(raw: str) -> CanonicalUrl:
    """Canonicalise or raise InvalidUrl; used by serializers to give a field-level error."""
    return canonicalize(raw)


__all__ = ["IntakeResult", "InvalidUrl", "ReportInput", "record_event", "submit_report", "submit_reports"]
