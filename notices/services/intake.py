"""Intake: a report names a URL; one canonical URL is one case however many reports name it.

The bulk path is set-based: one statement upserts the batch's URLs (and writes their `url.created` events),
one reads back ids and statuses, one inserts the reports — array parameters with `unnest`, no per-row ORM.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from notices.canonical import CanonicalUrl, InvalidUrl, canonicalize
from notices.models import Report, Url
from notices.services.urls import create_urls

# A report cannot say it saw a page before the web existed, nor after the moment it arrives (give or take the
# sender's clock being a little ahead).
EARLIEST_REPORTED_AT = datetime(1990, 1, 1, tzinfo=UTC)
REPORTED_AT_MAX_SKEW = timedelta(minutes=5)


def reported_at_problem(value: datetime, now: datetime) -> str | None:
    """Why `value` cannot be when a report saw its URL, or None."""
    if value < EARLIEST_REPORTED_AT:
        return (
            f"reported_at lies before {EARLIEST_REPORTED_AT:%Y-%m-%d}, earlier than any report of a web page."
        )
    if value > now + REPORTED_AT_MAX_SKEW:
        minutes = int(REPORTED_AT_MAX_SKEW.total_seconds() // 60)
        return f"reported_at lies more than {minutes} minutes in the future."
    return None


@dataclass(frozen=True)
class ReportInput:
    """One report as a partner or analyst submits it (validated fields, URL still raw)."""

    url: str
    reported_at: datetime | None = None
    external_ref: str = ""
    notes: str = ""
    hashes: Sequence[dict] = field(default_factory=tuple)
    # Its canonical form when validation already computed it (the bulk channels), so it is not made twice.
    canonical: CanonicalUrl | None = field(default=None, compare=False, repr=False)


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
    """Record one report and its URL case (see `submit_reports`)."""
    return submit_reports(items=[item], now=now, partner=partner, user=user)[0]


def submit_reports(
    *, items: Sequence[ReportInput], now: datetime, partner=None, user=None
) -> list[IntakeResult]:
    """Record many reports in one transaction.

    Side effects: each canonical URL not yet known is inserted (status `new`) with a `url.created` event;
    every item becomes a Report (`duplicate` when its URL was already known, or named earlier in the same
    batch). Raises InvalidUrl if any URL cannot be tracked — callers validate first — and then writes nothing.
    Returns one result per item, in order.
    """
    parsed = [item.canonical or canonicalize(item.url) for item in items]
    hashes = [canon.hash for canon in parsed]
    first_index = {}
    for index, digest in enumerate(hashes):
        first_index.setdefault(digest, index)
    with transaction.atomic(), connection.cursor() as cursor:
        created = create_urls(cursor, [(items[i], parsed[i]) for i in first_index.values()], now)
        known = _ids_and_statuses(cursor, list(first_index))
        duplicates = _duplicate_flags(hashes, known, created)
        rows = _insert_reports(cursor, items, [known[h][0] for h in hashes], duplicates, now, partner, user)
    return [
        IntakeResult(
            report_id=report_id,
            receipt=receipt,
            duplicate=duplicate,
            url_id=known[digest][0],
            canonical=canon.canonical,
            status=known[digest][1],
        )
        for (report_id, receipt), duplicate, digest, canon in zip(
            rows, duplicates, hashes, parsed, strict=True
        )
    ]


def _ids_and_statuses(cursor, digests: list[bytes]) -> dict[bytes, tuple[int, str]]:
    """Every batch URL's id and status, including rows other sessions committed meanwhile."""
    cursor.execute(
        f"SELECT canonical_hash, id, status FROM {Url._meta.db_table} WHERE canonical_hash = ANY(%s)",
        [digests],
    )
    return {bytes(digest): (pk, status) for digest, pk, status in cursor.fetchall()}


def _duplicate_flags(hashes: list[bytes], known: dict, created: set[int]) -> list[bool]:
    """A report is a duplicate when its URL existed before the batch or appeared earlier in it."""
    seen: set[bytes] = set()
    flags = []
    for digest in hashes:
        flags.append(known[digest][0] not in created or digest in seen)
        seen.add(digest)
    return flags


def _insert_reports(cursor, items, url_ids, duplicates, now, partner, user) -> list[tuple[int, str]]:
    """One INSERT for all reports; returns (id, receipt) in item order (matched by receipt, not row order)."""
    receipts = [new_receipt() for _ in items]
    cursor.execute(
        f"""INSERT INTO {Report._meta.db_table} (url_id, partner_id, submitted_by_id, original_url,
                reported_at, received_at, external_ref, notes, hashes, receipt, duplicate)
            SELECT u, %(partner)s, %(user)s, o, r, %(now)s, e, n, hs::jsonb, rc, d
            FROM unnest(%(u)s::bigint[], %(o)s::text[], %(r)s::timestamptz[], %(e)s::text[], %(n)s::text[],
                        %(hs)s::text[], %(rc)s::text[], %(d)s::bool[]) AS v(u, o, r, e, n, hs, rc, d)
            RETURNING id, receipt""",
        {
            "partner": getattr(partner, "pk", None),
            "user": user.pk if getattr(user, "is_authenticated", False) else None,
            "now": now,
            "u": url_ids,
            "o": [item.url for item in items],
            "r": [item.reported_at or now for item in items],
            "e": [item.external_ref for item in items],
            "n": [item.notes for item in items],
            "hs": [json.dumps(list(item.hashes)) if item.hashes else "[]" for item in items],
            "rc": receipts,
            "d": duplicates,
        },
    )
    ids = {receipt: pk for pk, receipt in cursor.fetchall()}
    return [(ids[receipt], receipt) for receipt in receipts]


__all__ = [
    "EARLIEST_REPORTED_AT",
    "REPORTED_AT_MAX_SKEW",
    "IntakeResult",
    "InvalidUrl",
    "ReportInput",
    "reported_at_problem",
    "submit_report",
    "submit_reports",
]
