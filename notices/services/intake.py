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
from notices.enums import HashAlgorithm, ReportChannel
from notices.models import MediaHash, Report, Url
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
    """One report as a partner, an analyst or the public form submits it (validated fields, URL raw).

    `canonical` is the URL's canonical form when the caller already has it (validation computed it), so that
    intake does not canonicalise the URL a second time. `hashes` are `{"algorithm", "value"}` dicts."""

    url: str
    reported_at: datetime | None = None
    external_ref: str = ""
    notes: str = ""
    hashes: Sequence[dict] = field(default_factory=tuple)
    reporter_email: str = ""
    # Its canonical form when validation already computed it (every channel), so it is not made twice.
    canonical: CanonicalUrl | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class IntakeResult:
    report_id: int
    receipt: str
    duplicate: bool
    url_id: int
    canonical: str
    status: str
    # Other cases holding one of this report's hash values: the same material (ids, oldest first).
    same_material: tuple[int, ...] = ()


# Digests written in hex compare in lower case; perceptual values are opaque and compare exactly.
_HEX_ALGORITHMS = frozenset({HashAlgorithm.MD5, HashAlgorithm.SHA1, HashAlgorithm.SHA256, HashAlgorithm.PDQ})


def normalised_hash(algorithm: str, value: str) -> str:
    """The form a hash value is stored and matched in."""
    return value.lower() if algorithm in _HEX_ALGORITHMS else value


def new_receipt() -> str:
    """An opaque receipt the partner can quote later."""
    return "rcpt_" + secrets.token_urlsafe(18)


def submit_report(
    *, item: ReportInput, now: datetime, partner=None, user=None, channel: str = ReportChannel.API
) -> IntakeResult:
    """Record one report and its URL case (see `submit_reports`)."""
    return submit_reports(items=[item], now=now, partner=partner, user=user, channel=channel)[0]


def submit_reports(
    *,
    items: Sequence[ReportInput],
    now: datetime,
    partner=None,
    user=None,
    channel: str = ReportChannel.API,
) -> list[IntakeResult]:
    """Record many reports in one transaction, each marked with the `channel` it came by.

    Side effects: each canonical URL not yet known is inserted (status `new`, with its site) with a
    `url.created` event; every item becomes a Report (`duplicate` when its URL was already known, or named
    earlier in the same batch) and each of its hash values a MediaHash row. Raises InvalidUrl if any URL
    cannot be tracked — callers validate first — and then writes nothing. Returns one result per item, in
    order, each naming the other cases that hold one of its hash values (`same_material`).
    """
    parsed = [item.canonical or canonicalize(item.url) for item in items]
    digests = [canon.hash for canon in parsed]
    first_index = {}
    for index, digest in enumerate(digests):
        first_index.setdefault(digest, index)
    with transaction.atomic(), connection.cursor() as cursor:
        created = create_urls(cursor, [(items[i], parsed[i]) for i in first_index.values()], now)
        known = _ids_and_statuses(cursor, list(first_index))
        duplicates = _duplicate_flags(digests, known, created)
        url_ids = [known[d][0] for d in digests]
        owner = {"partner": partner, "user": user, "channel": channel}
        rows = _insert_reports(cursor, items, url_ids, duplicates, now, owner)
        matches = _record_hashes(cursor, items, url_ids, [pk for pk, _ in rows])
    return [
        IntakeResult(
            report_id=report_id,
            receipt=receipt,
            duplicate=duplicate,
            url_id=url_id,
            canonical=canon.canonical,
            status=known[digest][1],
            same_material=matches.get(report_id, ()),
        )
        for (report_id, receipt), duplicate, digest, canon, url_id in zip(
            rows, duplicates, digests, parsed, url_ids, strict=True
        )
    ]


def _record_hashes(cursor, items, url_ids, report_ids) -> dict[int, tuple[int, ...]]:
    """Insert the batch's hash values (one statement) and return, per report that carried any, the other
    cases holding one of its values (the value index; `same_material_as` reads the same way)."""
    rows = [
        (report_id, url_id, h["algorithm"], normalised_hash(h["algorithm"], h["value"]))
        for item, url_id, report_id in zip(items, url_ids, report_ids, strict=True)
        for h in item.hashes
    ]
    if not rows:
        return {}
    table = MediaHash._meta.db_table
    report_col, url_col, algorithms, values = (list(column) for column in zip(*rows, strict=True))
    cursor.execute(
        f"""INSERT INTO {table} (report_id, url_id, algorithm, value)
            SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[])""",
        [report_col, url_col, algorithms, values],
    )
    # A second statement, so that values named twice in the batch match each other too.
    cursor.execute(
        f"""SELECT DISTINCT mine.report_id, other.url_id FROM {table} mine
            JOIN {table} other ON other.algorithm = mine.algorithm AND other.value = mine.value
                AND other.url_id <> mine.url_id
            WHERE mine.report_id = ANY(%s)
            ORDER BY 1, 2""",
        [sorted(set(report_col))],
    )
    found: dict[int, list[int]] = {}
    for report_id, other in cursor.fetchall():
        found.setdefault(report_id, []).append(other)
    return {report_id: tuple(others) for report_id, others in found.items()}


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


def _insert_reports(cursor, items, url_ids, duplicates, now, owner: dict) -> list[tuple[int, str]]:
    """One INSERT for all reports; returns (id, receipt) in item order (matched by receipt, not row order)."""
    receipts = [new_receipt() for _ in items]
    user = owner["user"]
    cursor.execute(
        f"""INSERT INTO {Report._meta.db_table} (url_id, partner_id, submitted_by_id, original_url,
                reported_at, received_at, external_ref, notes, hashes, receipt, duplicate, channel,
                reporter_email)
            SELECT u, %(partner)s, %(user)s, o, r, %(now)s, e, n, hs::jsonb, rc, d, %(channel)s, m
            FROM unnest(%(u)s::bigint[], %(o)s::text[], %(r)s::timestamptz[], %(e)s::text[], %(n)s::text[],
                        %(hs)s::text[], %(rc)s::text[], %(d)s::bool[], %(m)s::text[])
                 AS v(u, o, r, e, n, hs, rc, d, m)
            RETURNING id, receipt""",
        {
            "partner": getattr(owner["partner"], "pk", None),
            "user": user.pk if getattr(user, "is_authenticated", False) else None,
            "channel": str(owner["channel"]),
            "m": [item.reporter_email for item in items],
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
    "normalised_hash",
    "reported_at_problem",
    "submit_report",
    "submit_reports",
]
