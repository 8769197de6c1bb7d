"""Report files: `manage.py import_reports` streams CSV or JSON lines into the bulk intake path.

Constant memory: the input is read in chunks, a line at a time (a line longer than MAX_LINE_BYTES is an error
of that line, read past without keeping it), and reports go to `submit_reports` in batches of
IMPORT_BATCH_LINES lines. Every batch commits together with its run record (`ImportRun.lines_done`), so an
interrupted import resumes exactly after the last committed line when the same input is given again: no line
is recorded twice, none is lost. The input is recognised by the submitting partner, the format, the SHA-256
of its first MiB and (a regular file) its size.

One report per line. CSV: a header row naming the columns (url, reported_at, external_ref, notes), then one
row per line — a field may not hold a line break (JSON lines can: `\\n`). JSON lines: one object per line with
the fields of `POST /api/v1/reports/`. Blank lines are skipped. Line endings LF or CRLF; UTF-8 (a BOM is
allowed).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import queue
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notices.models import ImportRun, Partner
from notices.services.intake import ReportInput, submit_reports
from notices.services.report_fields import validate_report

FORMATS = ("csv", "jsonl")
CSV_COLUMNS = ("url", "reported_at", "external_ref", "notes")
HEAD_BYTES = 1024 * 1024
CHUNK_BYTES = 256 * 1024
MAX_LINE_BYTES = 256 * 1024
_BOM = b"\xef\xbb\xbf"
BLANK = "blank"


class ImportFatal(Exception):
    """An input that cannot be imported at all (its header, a second import of it running); the message
    names the input and the line."""


class ImportInterrupted(Exception):
    """The import was interrupted (Ctrl-C): every line up to `lines_done` is recorded, nothing after it."""

    def __init__(self, name: str, lines_done: int):
        super().__init__(f"{name}: interrupted after line {lines_done:,}")
        self.lines_done = lines_done


@dataclass
class ImportOutcome:
    """What one `import_reports` call did. `skipped`: lines done by an earlier, interrupted run."""

    run: ImportRun
    lines: int = 0
    skipped: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    already_done: bool = False
    first_errors: list[tuple[int, str]] = field(default_factory=list)


# --- Reading lines -----------------------------------------------------------------------------------------


def _lines(head: bytes, stream: BinaryIO) -> Iterator[tuple[bytes | None, int]]:
    """(line without its ending, bytes it took) for each line; None for a line over MAX_LINE_BYTES, of which
    nothing is kept while it is read past."""
    pending, size, too_long = b"", 0, False  # size: bytes of the current line so far, kept or not
    chunk = head
    while chunk:
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            piece = chunk[start:end]
            size += len(piece)
            too_long = too_long or size > MAX_LINE_BYTES
            yield (None if too_long else (pending + piece).removesuffix(b"\r")), size + 1
            pending, size, too_long, start = b"", 0, False, end + 1
        rest = chunk[start:]
        size += len(rest)
        too_long = too_long or size > MAX_LINE_BYTES
        pending = b"" if too_long else pending + rest
        chunk = stream.read(CHUNK_BYTES)
    if size:
        yield (None if too_long else pending.removesuffix(b"\r")), size


def identity(head: bytes, stream: BinaryIO) -> str:
    """SHA-256 of the input's first MiB, with its size when it is a regular file."""
    size = ""
    try:
        info = os.fstat(stream.fileno())
        if stat.S_ISREG(info.st_mode):
            size = str(info.st_size)
    except (OSError, AttributeError, ValueError):
        pass
    return f"{hashlib.sha256(head).hexdigest()}:{size}"


def sniff_format(head: bytes) -> str:
    """jsonl when the first non-blank character is `{`, else csv."""
    text = head.removeprefix(_BOM).lstrip()
    return "jsonl" if text.startswith(b"{") else "csv"


# --- Parsing one line --------------------------------------------------------------------------------------


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})") from None


def csv_header(text: str) -> list[str]:
    """The column names of a CSV header line; ValueError saying what is wrong with it."""
    try:
        (names,) = list(csv.reader([text], strict=True))
    except (csv.Error, ValueError) as exc:
        raise ValueError(f"CSV header row: {exc}") from None
    names = [name.strip(" \t") for name in names]
    if "url" not in names:
        raise ValueError("CSV needs a header row with at least a 'url' column")
    unknown = sorted(set(names) - set(CSV_COLUMNS))
    if unknown:
        raise ValueError(f"unknown CSV column(s): {', '.join(unknown)} (known: {', '.join(CSV_COLUMNS)})")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"duplicate CSV column(s): {', '.join(duplicates)}")
    return names


def csv_row(text: str, columns: list[str]) -> dict:
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error as exc:
        raise ValueError(f"CSV: {exc} (a field may not hold a line break here; use JSON lines)") from None
    fields = rows[0] if rows else []
    if len(fields) > len(columns):
        raise ValueError(f"the row has {len(fields)} fields; the header has {len(columns)} columns")
    return {column: value for column, value in zip(columns, fields, strict=False) if value != ""}


def json_row(text: str) -> dict:
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object with the report's fields")
    return data


def describe_errors(errors, prefix: str = "") -> str:
    """Field errors (nested as serializers give them) as one line: `field: message; hashes[0].value: …`."""
    parts: list[str] = []
    if isinstance(errors, dict):
        for name, value in errors.items():
            if isinstance(name, int):  # an item of a list field
                parts.append(describe_errors(value, f"{prefix}[{name}]"))
                continue
            label = name if name != "non_field_errors" else "row"
            parts.append(describe_errors(value, f"{prefix}.{label}" if prefix else label))
    elif isinstance(errors, list) and errors and all(isinstance(e, str) for e in errors):
        parts.append(f"{prefix}: {' '.join(errors)}")
    elif isinstance(errors, list):
        parts.extend(describe_errors(e, f"{prefix}[{i}]") for i, e in enumerate(errors) if e)
    else:
        parts.append(f"{prefix}: {errors}")
    return "; ".join(p for p in parts if p)


# --- The import --------------------------------------------------------------------------------------------


def _run_for(*, key: str, name: str, fmt: str, partner: Partner | None) -> ImportRun:
    now = timezone.now()
    run, _ = ImportRun.objects.get_or_create(
        key=key,
        defaults={"name": name, "format": fmt, "partner": partner, "started_at": now, "updated_at": now},
    )
    return run


class _Batch:
    """Lines read and judged, ready to commit: the reports, the refused lines with their reasons, the last
    line it covers and the bytes it took."""

    def __init__(self) -> None:
        self.items: list[ReportInput] = []
        self.errors: list[tuple[int, str]] = []
        self.lines = 0
        self.bytes = 0
        self.last_line = 0
        self.final = False


def import_reports(
    stream: BinaryIO,
    *,
    name: str,
    partner: Partner | None,
    fmt: str | None = None,
    on_error: Callable[[int, str], None] = lambda line, reason: None,
    on_progress: Callable[[int], None] = lambda consumed: None,
    batch_lines: int | None = None,
) -> ImportOutcome:
    """Import the reports of `stream` (bytes) as `partner`'s; resume where an earlier run of the same input
    stopped.

    Side effects: each batch of lines is recorded through `submit_reports` (new cases, reports, their events)
    in one transaction with the run's progress (`ImportRun`: lines done, accepted, rejected); the run is
    marked finished at the end. Each line that cannot be a report is passed to `on_error(line, reason)` and
    counted, never recorded; `on_progress(bytes)` is called per batch. Raises ImportFatal (nothing of the
    current batch is recorded) for a bad CSV header or when another run of the same input moved on, and
    ImportInterrupted, naming the last recorded line, when interrupted (KeyboardInterrupt).

    Reading and judging lines (Python work) runs in a thread of its own, one batch ahead of the database
    work here (which releases the interpreter while PostgreSQL works), so the two overlap; the thread never
    touches the database, and batches commit in order.
    """
    batch_lines = batch_lines or settings.IMPORT_BATCH_LINES
    head = stream.read(HEAD_BYTES)
    fmt = fmt or sniff_format(head)
    owner = partner.pk if partner is not None else "-"
    run = _run_for(key=f"{owner}:{fmt}:{identity(head, stream)}", name=name, fmt=fmt, partner=partner)
    outcome = ImportOutcome(run=run, skipped=run.lines_done)
    if run.finished_at is not None:
        outcome.already_done = True
        return outcome
    batches = _batches(head, stream, fmt=fmt, name=name, done=run.lines_done, batch_lines=batch_lines)
    try:
        for batch in read_ahead(batches):
            for line, reason in batch.errors:
                _note_error(outcome, line, reason, on_error)
            _commit(run, batch, outcome, on_progress)
    except KeyboardInterrupt:
        # The batch being written is rolled back with its progress; `run` moves only after a commit.
        raise ImportInterrupted(name, run.lines_done) from None
    return outcome


def _batches(head: bytes, stream: BinaryIO, *, fmt: str, name: str, done: int, batch_lines: int):
    """The input's lines after line `done`, judged, in batches of `batch_lines`; the last one is `final`."""
    columns: list[str] | None = None
    batch = _Batch()
    number = 0
    now = timezone.now()
    for number, (raw, consumed) in enumerate(_lines(head, stream), start=1):
        batch.bytes += consumed
        if number == 1 and raw is not None:
            raw = raw.removeprefix(_BOM)
        if fmt == "csv" and number == 1:
            columns = _header(raw, name)  # read again on a resume: the rows need it
        if number <= done:
            continue
        batch.lines += 1
        if fmt == "csv" and number == 1:
            continue
        item, reason = _parse(raw, fmt, columns, now)
        if item is not None:
            batch.items.append(item)
        elif reason != BLANK:
            batch.errors.append((number, reason))
        if batch.lines >= batch_lines:
            batch.last_line = number
            yield batch
            batch, now = _Batch(), timezone.now()
    if fmt == "csv" and columns is None:
        raise ImportFatal(f"{name}:1: the input is empty; CSV needs a header row with a 'url' column")
    batch.last_line, batch.final = max(number, done), True
    yield batch


_END = object()


def read_ahead(iterable, depth: int = 2):
    """Iterate `iterable` in a thread of its own, up to `depth` items ahead; its exceptions are raised
    here. Stopping early (an exception here) stops the thread at its next item."""
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in iterable:
                if not _put(items, (item, None), stop):
                    return
            _put(items, (_END, None), stop)
        except BaseException as exc:
            _put(items, (_END, exc), stop)

    thread = threading.Thread(target=produce, name="import-reader", daemon=True)
    thread.start()
    try:
        while True:
            item, error = items.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def _put(items: queue.Queue, entry, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            items.put(entry, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _header(raw: bytes | None, name: str) -> list[str]:
    if raw is None:
        raise ImportFatal(f"{name}:1: CSV header row longer than {MAX_LINE_BYTES} bytes")
    try:
        return csv_header(_decode(raw))
    except ValueError as exc:
        raise ImportFatal(f"{name}:1: {exc}") from None


def _parse(
    raw: bytes | None, fmt: str, columns: list[str] | None, now: datetime
) -> tuple[ReportInput | None, str]:
    """(the report, "") or (None, why the line is not one); (None, BLANK) for a blank line."""
    if raw is None:
        return None, f"line longer than {MAX_LINE_BYTES} bytes"
    try:
        text = _decode(raw)
        if not text.strip():
            return None, BLANK
        data = json_row(text) if fmt == "jsonl" else csv_row(text, columns or [])
    except ValueError as exc:
        return None, str(exc)
    item, errors = validate_report(data, now=now)
    return item, describe_errors(errors) if item is None else ""


def _note_error(outcome: ImportOutcome, line: int, reason: str, on_error) -> None:
    if len(outcome.first_errors) < 20:
        outcome.first_errors.append((line, reason))
    on_error(line, reason)


def _commit(run: ImportRun, batch: _Batch, outcome: ImportOutcome, on_progress) -> None:
    """Record the batch and move the run's progress to its last line, in one transaction."""
    now = timezone.now()
    rejected = len(batch.errors)
    with transaction.atomic():
        results = submit_reports(items=batch.items, now=now, partner=run.partner) if batch.items else []
        moved = ImportRun.objects.filter(pk=run.pk, lines_done=run.lines_done, finished_at=None).update(
            lines_done=batch.last_line,
            accepted=run.accepted + len(results),
            rejected=run.rejected + rejected,
            updated_at=now,
            finished_at=now if batch.final else None,
        )
        if not moved:
            raise ImportFatal(
                f"{run.name}:{batch.last_line}: another import of this input moved on meanwhile; nothing of "
                f"lines {run.lines_done + 1}–{batch.last_line} was recorded by this one"
            )
    run.lines_done, run.updated_at = batch.last_line, now
    run.accepted += len(results)
    run.rejected += rejected
    run.finished_at = now if batch.final else None
    outcome.lines += batch.lines
    outcome.accepted += len(results)
    outcome.duplicates += sum(r.duplicate for r in results)
    outcome.rejected += rejected
    on_progress(batch.bytes)
