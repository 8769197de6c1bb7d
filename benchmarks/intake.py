"""P1 — bulk intake rows/s through the real entry points, against raw COPY and a naive ORM loop.

The two entry points: `manage.py import_reports FILE` (a JSON lines file written before the clock starts) and
`POST /api/v1/reports/bulk/` in chunks of API_BULK_MAX_ITEMS (JSON bodies encoded before the clock starts,
sent through Django's full request stack — middleware, key authentication and rate limit, parser, view — by
the WSGI test client, so only the socket is left out).

Every measurement starts from empty tables and ends with the same rows a real bulk intake writes: one Url per
canonical URL, one Report per reported URL and one `url.created` Event per new Url. Counting the events in
both baselines keeps the comparison fair: the project path writes them, so a baseline that skipped them would
be doing less work.

The reported URLs are synthetic and use reserved names only (`*.example`); about 10 % repeat an earlier URL,
half of them spelled differently (upper case, default port, dot segment, fragment, stray whitespace), so both
dedupe and canonicalisation are exercised.
"""

from __future__ import annotations

import csv
import io
import json
import random
import statistics
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from benchmarks.harness import Result, Stopwatch, log, progress, reset_database

# SCALE → (reported URLs through the project path and raw COPY, sample for the naive loop).
SIZES = {"small": (100_000, 2_000), "full": (1_000_000, 5_000)}
# Interleaved repeats per measurement; the median is reported (one pass at full scale: N averages it out).
REPEATS = {"small": 3, "full": 1}
SEED = 1729
DUPLICATE_SHARE = 0.10
HOSTS = 5_000


# --- Synthetic input ---------------------------------------------------------------------------------------


def _url(i: int) -> str:
    return f"http://host{i % HOSTS}.example/path/{i}?q={i}"


def _respelled(i: int, rng: random.Random) -> str:
    """URL `i` as a reporter might send it again: exactly, or in a form that canonicalises to the same."""
    host = f"host{i % HOSTS}.example"
    spellings = (
        _url(i),
        f"HTTP://{host.upper()}/path/{i}?q={i}",
        f"http://{host}:80/path/./{i}?q={i}#seen-{i}",
        f"  http://{host}//path/{i}?q={i}\n",
    )
    return spellings[0] if rng.random() < 0.5 else rng.choice(spellings[1:])


def synthetic_urls(n: int, *, seed: int = SEED) -> list[str]:
    """`n` reported URLs, ~10 % of them repeats of an earlier one; the same list for a given seed."""
    rng = random.Random(seed)
    originals: list[int] = []
    urls: list[str] = []
    for i in range(n):
        if originals and rng.random() < DUPLICATE_SHARE:
            urls.append(_respelled(rng.choice(originals), rng))
        else:
            originals.append(i)
            urls.append(_url(i))
    return urls


def new_partner():
    """The submitting partner; recreated after every reset (reports reference it)."""
    from notices.models import Partner

    return Partner.objects.create(name="bench partner")


def table_counts() -> tuple[int, int, int]:
    """(urls, reports, events) now in the database, to check that every path wrote the same rows."""
    from notices.models import Event, Report, Url

    return Url.objects.count(), Report.objects.count(), Event.objects.count()


# --- Project paths -----------------------------------------------------------------------------------------


def write_jsonl(urls: Sequence[str], path: Path) -> None:
    """The input of `import_reports`: one report object per line."""
    with path.open("w", encoding="utf-8") as f:
        for raw in urls:
            f.write(json.dumps({"url": raw}) + "\n")


def measure_import(path: Path) -> float:
    """Seconds for `manage.py import_reports FILE --partner …`, end to end (read, parse, validate, record)."""
    from django.core.management import call_command

    partner = new_partner()
    out, err = io.StringIO(), io.StringIO()
    with Stopwatch() as sw:
        call_command("import_reports", str(path), "--partner", partner.name, stdout=out, stderr=err)
    if err.getvalue():
        raise RuntimeError(f"import_reports reported errors: {err.getvalue()[:500]}")
    return sw.seconds


def bulk_bodies(urls: Sequence[str]) -> list[bytes]:
    """The bulk API request bodies, API_BULK_MAX_ITEMS reports each."""
    from django.conf import settings

    chunk = settings.API_BULK_MAX_ITEMS
    return [
        json.dumps([{"url": raw} for raw in urls[start : start + chunk]]).encode()
        for start in range(0, len(urls), chunk)
    ]


def measure_bulk_api(bodies: Sequence[bytes]) -> float:
    """Seconds for POSTing every body to /api/v1/reports/bulk/ with a partner key; each answer must be a 200
    with every item accepted."""
    from django.test import Client

    from notices.enums import KeyScope
    from notices.services.keys import create_api_key

    _, plaintext = create_api_key(scope=KeyScope.PARTNER, partner=new_partner(), name="P1")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    with Stopwatch() as sw:
        for body in progress(bodies, total=len(bodies), desc="bulk API", unit="request"):
            response = client.generic("POST", "/api/v1/reports/bulk/", body, content_type="application/json")
            if response.status_code != 200 or response.json()["rejected"]:
                raise RuntimeError(f"bulk API answered {response.status_code}: {response.content[:300]!r}")
    return sw.seconds


# --- Baseline 1: raw COPY ----------------------------------------------------------------------------------

URL_COLUMNS = (
    "id, original, canonical, canonical_hash, host, status, first_reported_at, created_at, consecutive_gone, "
    "reappearance_count, country_at_notice, notice_type_at_notice, last_outcome, first_gone_vantage"
)
REPORT_COLUMNS = (
    "url_id, partner_id, original_url, reported_at, received_at, external_ref, notes, hashes, receipt, "
    "duplicate"
)
EVENT_COLUMNS = "kind, at, url_id, actor, data"


@dataclass
class CopyInput:
    """CSV text for the three COPY statements, built before the clock starts."""

    urls: str
    reports: str
    events: str
    url_count: int
    partner_id: int


def prepare_copy(urls: Sequence[str], *, partner_id: int, now: datetime) -> CopyInput:
    """Compute outside the timing exactly what the project path derives from the input, as COPY CSV.

    Url rows: the first spelling as `original`, canonical string, SHA-256 of it, host, status `new`, both
    timestamps and the same zero/empty defaults the project's INSERT writes; ids are assigned here (1, 2, …,
    matching RESTART IDENTITY). Report rows: url id, partner, original URL, timestamps, empty ref/notes, `[]`
    hashes, a fresh receipt and the duplicate flag. Event rows: one `url.created` per Url.
    """
    from notices.canonical import canonicalize
    from notices.enums import UrlStatus
    from notices.services.intake import new_receipt

    ids: dict[bytes, int] = {}
    buffers = {name: io.StringIO() for name in ("urls", "reports", "events")}
    writers = {name: csv.writer(buf, quoting=csv.QUOTE_ALL) for name, buf in buffers.items()}
    at = now.isoformat()
    for raw in progress(urls, total=len(urls), desc="preparing COPY data", unit="url"):
        canon = canonicalize(raw)
        digest = canon.hash
        url_id = ids.get(digest)
        duplicate = url_id is not None
        if url_id is None:
            url_id = ids[digest] = len(ids) + 1
            hash_text = "\\x" + digest.hex()  # bytea hex input
            url_row = [url_id, raw, canon.canonical, hash_text, canon.host, UrlStatus.NEW.value, at, at]
            writers["urls"].writerow([*url_row, 0, 0, "", "", "", ""])
            writers["events"].writerow(["url.created", at, url_id, "system", "{}"])
        writers["reports"].writerow(
            [url_id, partner_id, raw, at, at, "", "", "[]", new_receipt(), "t" if duplicate else "f"]
        )
    texts = {name: buf.getvalue() for name, buf in buffers.items()}
    return CopyInput(**texts, url_count=len(ids), partner_id=partner_id)


def measure_copy(copy_input: CopyInput) -> float:
    """Seconds to COPY the prepared Url, Report and Event rows into the real (empty, indexed) tables.

    The real tables carry the same unique indexes, foreign keys and secondary indexes the project path has to
    maintain, so only the client-side work differs. One transaction including its commit (the project path
    commits too); the id sequence is moved past the explicit ids as the last step.
    """
    from django.db import connection, transaction

    from notices.models import Event, Report, Url

    if new_partner().pk != copy_input.partner_id:
        raise RuntimeError(
            "the partner id baked into the COPY data no longer matches; was the reset skipped?"
        )
    statements = [
        (Url._meta.db_table, URL_COLUMNS, copy_input.urls),
        (Report._meta.db_table, REPORT_COLUMNS, copy_input.reports),
        (Event._meta.db_table, EVENT_COLUMNS, copy_input.events),
    ]
    with Stopwatch() as sw, transaction.atomic(), connection.cursor() as cursor:
        for table, columns, text in statements:
            cursor.cursor.copy_expert(
                f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)", io.StringIO(text)
            )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [Url._meta.db_table, copy_input.url_count]
        )
    return sw.seconds


# --- Baseline 2: naive ORM loop ----------------------------------------------------------------------------


def measure_naive(urls: Sequence[str], *, now: datetime) -> float:
    """Seconds for the obvious per-row ORM code: canonicalise, get_or_create the Url, create the Report.

    Autocommit per statement (no surrounding transaction), and the `url.created` event for a new Url, as the
    project writes it.
    """
    from notices.canonical import canonicalize
    from notices.enums import UrlStatus
    from notices.models import Event, Report, Url
    from notices.services.intake import new_receipt

    partner = new_partner()
    with Stopwatch() as sw:
        for raw in progress(urls, total=len(urls), desc="naive ORM loop", unit="row"):
            canon = canonicalize(raw)
            url, created = Url.objects.get_or_create(
                canonical_hash=canon.hash,
                defaults={
                    "original": raw,
                    "canonical": canon.canonical,
                    "host": canon.host,
                    "status": UrlStatus.NEW,
                    "first_reported_at": now,
                },
            )
            Report.objects.create(
                url=url,
                partner=partner,
                original_url=raw,
                reported_at=now,
                received_at=now,
                receipt=new_receipt(),
                duplicate=not created,
            )
            if created:
                Event.objects.create(kind="url.created", at=now, url=url, actor="system")
    return sw.seconds


# --- Entry point -------------------------------------------------------------------------------------------


Counts = tuple[int, int, int]


def _measure(label: str, measure: Callable[[], float], rows: int) -> tuple[float, Counts]:
    """Run one measurement on empty tables; return its rate and the rows it left."""
    reset_database()
    seconds = measure()
    counts = table_counts()
    rate = rows / seconds
    log(f"{label}: {rows:,} rows in {seconds:.2f} s = {rate:,.0f} rows/s (urls, reports, events = {counts})")
    return rate, counts


def prepare_copy_logged(urls: Sequence[str], *, now: datetime) -> CopyInput:
    """Prepare the COPY data once (the measurements reuse it) and log what that client-side work costs."""
    reset_database()  # the partner created here gets the id every later reset gives it again
    with Stopwatch() as sw:
        copy_input = prepare_copy(urls, partner_id=new_partner().pk, now=now)
    log(f"COPY data prepared in {sw.seconds:.2f} s (canonicalise, hash, CSV; not timed)")
    return copy_input


def run(scale: str) -> list[Result]:
    """Measure both entry points, raw COPY and the naive loop on the same synthetic reports.

    At small scale each is measured REPEATS times, interleaved so that background work of the server
    (autovacuum, checkpoints) falls on all alike, and the median rate is reported.
    """
    from django.utils import timezone

    n, sample = SIZES[scale]
    urls = synthetic_urls(n)
    now = timezone.now()
    copy_input = prepare_copy_logged(urls, now=now)
    with tempfile.TemporaryDirectory(prefix="p1-") as directory:
        path = Path(directory) / "reports.jsonl"
        write_jsonl(urls, path)
        bodies = bulk_bodies(urls)
        measurements: dict[str, tuple[Callable[[], float], int]] = {
            "import_reports": (lambda: measure_import(path), n),
            "bulk API": (lambda: measure_bulk_api(bodies), n),
            "raw COPY": (lambda: measure_copy(copy_input), n),
            "naive ORM loop": (lambda: measure_naive(urls[:sample], now=now), sample),
        }
        rates: dict[str, list[float]] = {label: [] for label in measurements}
        for _ in range(REPEATS[scale]):
            for label, (measure, rows) in measurements.items():
                rate, counts = _measure(label, measure, rows)
                rates[label].append(rate)
                if label != "naive ORM loop" and counts != (copy_input.url_count, n, copy_input.url_count):
                    raise RuntimeError(f"{label} left {counts} rows, expected the same rows as the COPY data")
    reset_database()
    median = {label: statistics.median(values) for label, values in rates.items()}
    results = []
    for entry in ("import_reports", "bulk API"):
        common = {
            "id": "P1",
            "name": f"bulk intake rows/s through {entry}",
            "unit": "rows/s",
            "better": "higher",
            "scale": scale,
            "n": n,
            "value": median[entry],
        }
        results += [
            Result.compare(baseline="raw COPY", baseline_value=median["raw COPY"], target="≥ 0.5×", **common),
            Result.compare(
                baseline="naive ORM loop", baseline_value=median["naive ORM loop"], target="≥ 20×", **common
            ),
        ]
    return results
