"""Intake: a report names a URL; one canonical URL is one case however many reports name it.

The bulk path is set-based. A batch of STAGE_MIN_ITEMS or more is staged: one COPY writes its items (URL
canonicalised once, receipt, fields) into a temporary table, then one statement upserts its URLs (and writes
their `url.created` events) from it and one inserts its reports joined to their URLs' ids. A smaller batch
takes the plain path — array parameters with `unnest`: one statement upserts the URLs, one reads back ids and
statuses, one inserts the reports. Both write the same rows (tests/notices/services/test_intake_staged.py);
the plain one is the reference. No per-row ORM either way.
"""

from __future__ import annotations

import base64
import io
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from notices.canonical import CanonicalUrl, InvalidUrl, canonicalize
from notices.enums import HashAlgorithm, ReportChannel
from notices.models import MediaHash, Report, Url
from notices.services.urls import create_staged_urls, create_urls

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


def new_receipts(count: int) -> list[str]:
    """`count` receipts as `new_receipt` makes them, from one read of the random source (18 bytes are 24
    base64 characters without padding, so slices of one encoding are the encodings of the slices)."""
    text = base64.urlsafe_b64encode(secrets.token_bytes(18 * count)).decode("ascii")
    return ["rcpt_" + text[start : start + 24] for start in range(0, 24 * count, 24)]


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
    staged: bool | None = None,
) -> list[IntakeResult]:
    """Record many reports in one transaction, each marked with the `channel` it came by (`staged`: True or
    False forces the staged or the plain write path, None chooses by the batch's size; see above).

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
    owner = {"partner": partner, "user": user, "channel": channel}
    if staged is None:
        staged = len(items) >= STAGE_MIN_ITEMS
    with transaction.atomic(), connection.cursor() as cursor:
        if staged:
            written = _write_staged(cursor, items, parsed, digests, first_index, now, owner)
        else:
            written = _write_plain(cursor, items, parsed, digests, first_index, now, owner)
        rows, url_ids, duplicates, statuses = written
        matches = _record_hashes(cursor, items, url_ids, [pk for pk, _ in rows])
    return [
        IntakeResult(
            report_id=report_id,
            receipt=receipt,
            duplicate=duplicate,
            url_id=url_id,
            canonical=canon.canonical,
            status=url_status,
            same_material=matches.get(report_id, ()),
        )
        for (report_id, receipt), duplicate, canon, url_id, url_status in zip(
            rows, duplicates, parsed, url_ids, statuses, strict=True
        )
    ]


# (report id, receipt) per item, url ids, duplicate flags, URL statuses: what both write paths return.
_Written = tuple[list[tuple[int, str]], list[int], list[bool], list[str]]


def _write_plain(cursor, items, parsed, digests, first_index, now, owner) -> _Written:
    """The reference path: array parameters, one statement per table and one to read the ids back."""
    created = create_urls(cursor, [(items[i], parsed[i]) for i in first_index.values()], now)
    known = _ids_and_statuses(cursor, list(first_index))
    duplicates = _duplicate_flags(digests, known, created)
    url_ids = [known[d][0] for d in digests]
    rows = _insert_reports(cursor, items, url_ids, duplicates, now, owner)
    return rows, url_ids, duplicates, [known[d][1] for d in digests]


# --- The staged path ---------------------------------------------------------------------------------------

# Batches from this size on are staged; below it the fixed cost of the staging (a few statements more) is
# more than it saves.
STAGE_MIN_ITEMS = 50
# One per database session, created on first use (also after a rollback undid its creation), emptied by every
# commit and at the start of every use (a transaction may record several batches).
STAGE = "notices_intake_stage"
_STAGE_COLUMNS = "i, first, o, c, h, host, site, r, e, n, hs, rc, m"
_PREPARE_STAGE = f"""DO $$ BEGIN
    IF to_regclass('pg_temp.{STAGE}') IS NULL THEN
        CREATE TEMPORARY TABLE {STAGE} (
            i integer NOT NULL, first boolean NOT NULL, o text NOT NULL, c text, h bytea NOT NULL,
            host text, site text, r timestamptz NOT NULL, e text NOT NULL, n text NOT NULL, hs text NOT NULL,
            rc text NOT NULL, m text NOT NULL
        ) ON COMMIT DELETE ROWS;
    ELSE
        DELETE FROM {STAGE};
    END IF;
END $$"""
# COPY's text format: backslash, tab, newline and carriage return are written as escapes.
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    """`value` as a field of COPY's text format."""
    return value.translate(_COPY_ESCAPES) if _COPY_SPECIAL.search(value) else value


def _stage_text(items, parsed, digests, first_index, now, receipts) -> str:
    """The batch as COPY text, one line per item: its index, whether it is its canonical URL's first item
    (only those carry the canonical parts a new Url needs), the URL as sent, its canonical form, hash, host
    and site, the time it was reported and its report fields. Text that needs no escape (nearly all) is
    written as it is: one search over an item's texts decides."""
    instants: dict[tuple, str] = {}  # a batch's items share a few instants: each formatted once
    first_items = set(first_index.values())
    special = _COPY_SPECIAL.search
    lines = []
    for index, (item, canon, digest, receipt) in enumerate(
        zip(items, parsed, digests, receipts, strict=True)
    ):
        at = item.reported_at or now
        key = (at, at.utcoffset())
        stamp = instants.get(key) or instants.setdefault(key, at.isoformat())
        hashes = json.dumps(list(item.hashes)) if item.hashes else "[]"
        first = index in first_items
        fields = [item.url, item.external_ref, item.notes, hashes, item.reporter_email]
        if first:
            fields += [canon.canonical, canon.host, canon.site]
        if special("".join(fields)):
            fields = [_copy_text(field) for field in fields]
        url, external_ref, notes, hashes, email = fields[:5]
        key_text = "\\\\x" + digest.hex()  # bytea in hex, its backslash escaped for COPY
        parts = (
            f"t\t{url}\t{fields[5]}\t{key_text}\t{fields[6]}\t{fields[7]}"
            if first
            else f"f\t{url}\t\\N\t{key_text}\t\\N\t\\N"
        )
        lines.append(f"{index}\t{parts}\t{stamp}\t{external_ref}\t{notes}\t{hashes}\t{receipt}\t{email}\n")
    return "".join(lines)


def _write_staged(cursor, items, parsed, digests, first_index, now, owner) -> _Written:
    """COPY the batch into the stage, then one INSERT … SELECT per table: the new URLs with their events
    (`create_staged_urls`), then the reports joined to their URLs' ids — a statement of its own, so that it
    sees URLs another session committed meanwhile (this one's insert skipped them)."""
    receipts = new_receipts(len(items))
    cursor.execute(_PREPARE_STAGE)
    text = _stage_text(items, parsed, digests, first_index, now, receipts)
    with connection.wrap_database_errors:  # as Django's own cursor methods raise them
        cursor.copy_expert(f"COPY {STAGE} ({_STAGE_COLUMNS}) FROM STDIN", io.StringIO(text), size=1 << 20)
    created = create_staged_urls(cursor, STAGE, now)
    user = owner["user"]
    cursor.execute(
        f"""WITH ids AS MATERIALIZED (
                SELECT canonical_hash AS h, id, status FROM {Url._meta.db_table}
                WHERE canonical_hash = ANY(ARRAY(SELECT h FROM {STAGE} WHERE first))),
            fresh AS (SELECT unnest(%(created)s::bigint[]) AS id),
            inserted AS (
                INSERT INTO {Report._meta.db_table} (url_id, partner_id, submitted_by_id, original_url,
                    reported_at, received_at, external_ref, notes, hashes, receipt, duplicate, channel,
                    reporter_email)
                SELECT ids.id, %(partner)s, %(user)s, s.o, s.r, %(now)s, s.e, s.n, s.hs::jsonb, s.rc,
                    NOT s.first OR fresh.id IS NULL, %(channel)s, s.m
                FROM {STAGE} AS s JOIN ids ON ids.h = s.h LEFT JOIN fresh ON fresh.id = ids.id
                ORDER BY s.i
                RETURNING id, receipt, url_id, duplicate)
            SELECT inserted.receipt, inserted.id, inserted.url_id, inserted.duplicate, ids.status
            FROM inserted JOIN ids ON ids.id = inserted.url_id""",
        {
            "created": "{" + ",".join(map(str, created)) + "}",
            "partner": getattr(owner["partner"], "pk", None),
            "user": user.pk if getattr(user, "is_authenticated", False) else None,
            "channel": str(owner["channel"]),
            "now": now,
        },
    )
    found = {receipt: row for receipt, *row in cursor.fetchall()}
    if len(found) != len(items):  # a URL deleted between the two statements: write nothing
        raise RuntimeError(f"{len(items) - len(found)} of the batch's URLs vanished while it was recorded")
    rows = [found[receipt] for receipt in receipts]
    return (
        [(report_id, receipt) for (report_id, _, _, _), receipt in zip(rows, receipts, strict=True)],
        [url_id for _, url_id, _, _ in rows],
        [duplicate for _, _, duplicate, _ in rows],
        [url_status for _, _, _, url_status in rows],
    )


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
    return _matches(cursor, sorted(set(report_col)))


def same_material_of(report_ids: Sequence[int]) -> dict[int, tuple[int, ...]]:
    """For each of these reports that carries hash values, the other cases holding one of them (ids, oldest
    first), as `IntakeResult.same_material` says it: for a request recorded in several batches, so that its
    earlier batches' reports name the later ones' cases too."""
    with connection.cursor() as cursor:
        return _matches(cursor, sorted(set(report_ids)))


def _matches(cursor, report_ids: list[int]) -> dict[int, tuple[int, ...]]:
    table = MediaHash._meta.db_table
    cursor.execute(
        f"""SELECT DISTINCT mine.report_id, other.url_id FROM {table} mine
            JOIN {table} other ON other.algorithm = mine.algorithm AND other.value = mine.value
                AND other.url_id <> mine.url_id
            WHERE mine.report_id = ANY(%s)
            ORDER BY 1, 2""",
        [report_ids],
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
    "same_material_of",
    "submit_report",
    "submit_reports",
]
