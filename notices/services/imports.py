"""Report files: `manage.py import_reports` streams CSV or JSON lines into the bulk intake path.

Constant memory: the input is read in chunks, a line at a time (a line longer than MAX_LINE_BYTES is an error
of that line, read past without keeping it), and reports go to `submit_reports` in batches of
IMPORT_BATCH_LINES lines. Every batch commits together with its run record (`ImportRun.lines_done`), so an
interrupted import resumes exactly after the last committed line when the same input is given again: no line
is recorded twice, none is lost.

Recognising the input: the partner, the format and the SHA-256 of the first MiB name the candidate (the
latest run with that key); with every batch the run stores the SHA-256 and length of exactly the bytes of
lines 1–`lines_done` (a running hash, fed a chunk or a batch at a time as lines are read). A resume reads the
lines it skips and goes on only when they hash to that digest; a finished run is "already done" only for an
input that is exactly its bytes, and an input that is a finished run's bytes and more continues after them as
a new run. Any other input is not the one the run read: a seekable input (a regular file) is imported again
from line 1 as a new run, a stream (standard input, a pipe) stops with a fatal error since what it skipped
cannot be read again — `restart=True` (`--restart`) imports it from line 1 as a new run.

One report per line. CSV: a header row naming the columns (url, reported_at, external_ref, notes), then one
row per line — a field may not hold a line break (JSON lines can: `\\n`). JSON lines: one object per line with
the fields of `POST /api/v1/reports/`. Blank lines are skipped. Line endings LF or CRLF; UTF-8 (a BOM is
allowed).
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from django.conf import settings
from django.db import DatabaseError, connection, transaction
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
    """What one `import_reports` call did. `skipped`: lines done by an earlier run, checked to be the same
    bytes — an interrupted run resumed, or (`continued`) a finished run whose input this one extends."""

    run: ImportRun
    lines: int = 0
    skipped: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    already_done: bool = False
    continued: bool = False
    first_errors: list[tuple[int, str]] = field(default_factory=list)


# --- Reading lines -----------------------------------------------------------------------------------------


class _LineReader:
    """The lines of an input with a running SHA-256 of the bytes of the lines read so far.

    Iterating gives (line without its ending, bytes it took) for each line; None for a line over
    MAX_LINE_BYTES, of which nothing is kept while it is read past. `digest()` gives the SHA-256 and length of
    the bytes up to the end of the last line given. Each byte is hashed once, in pieces of a chunk or a
    batch (hashlib lets other threads run while it hashes a large buffer), never line by line.
    """

    def __init__(self, head: bytes, stream: BinaryIO):
        self._head, self._stream = head, stream
        self._hash = hashlib.sha256()
        self._chunk = head
        self._before = 0  # bytes of the chunks before the current one
        self._hashed = 0  # bytes of the current chunk in the hash
        self._end = 0  # where the last line given ends in the current chunk

    def __iter__(self) -> Iterator[tuple[bytes | None, int]]:
        pending, size, too_long = b"", 0, False  # size: bytes of the current line so far, kept or not
        chunk = self._head
        while chunk:
            start = 0
            while (end := chunk.find(b"\n", start)) != -1:
                piece = chunk[start:end]
                size += len(piece)
                too_long = too_long or size > MAX_LINE_BYTES
                self._end = end + 1
                yield (None if too_long else (pending + piece).removesuffix(b"\r")), size + 1
                pending, size, too_long, start = b"", 0, False, end + 1
            rest = chunk[start:]
            size += len(rest)
            too_long = too_long or size > MAX_LINE_BYTES
            pending = b"" if too_long else pending + rest
            self._hash.update(memoryview(chunk)[self._hashed :])  # the rest belongs to lines still to come
            self._before += len(chunk)
            chunk = self._stream.read(CHUNK_BYTES)
            self._chunk, self._hashed, self._end = chunk, 0, 0
        if size:
            yield (None if too_long else pending.removesuffix(b"\r")), size

    def digest(self) -> tuple[str, int]:
        """(SHA-256 hex, length) of the bytes of the lines given so far."""
        if self._end > self._hashed:
            self._hash.update(memoryview(self._chunk)[self._hashed : self._end])
            self._hashed = self._end
        return self._hash.hexdigest(), self._before + self._end


def input_key(head: bytes, *, partner: Partner | None, fmt: str) -> str:
    """The candidate key of an input: the partner, the format and the SHA-256 of its first MiB. Only a
    candidate: the digest of the lines done decides whether an earlier run read this input."""
    owner = partner.pk if partner is not None else "-"
    return f"{owner}:{fmt}:{hashlib.sha256(head).hexdigest()}"


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


_LOCK_INPUT = 0x5180  # advisory lock class: the imports of one input key
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@contextmanager
def _input_lock(key: str, name: str):
    """One import of an input key at a time (a session-level advisory lock, released however it ends)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", [_LOCK_INPUT, key])
        if not cursor.fetchone()[0]:
            raise ImportFatal(
                f"{name}: another import of this input (or of one with the same first MiB) is running; "
                "run this again when it has ended"
            )
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", [_LOCK_INPUT, key])
        except DatabaseError:
            pass  # the connection failed, and its lock went with it


def _new_run(*, key: str, name: str, fmt: str, partner: Partner | None, base: ImportRun | None) -> ImportRun:
    """A run of its own for this input; `base`: a finished run whose bytes this input starts with, its lines
    and their counts taken as done (a run's counts always cover lines 1–`lines_done`)."""
    now = timezone.now()
    return ImportRun.objects.create(
        key=key,
        name=name,
        format=fmt,
        partner=partner,
        started_at=now,
        updated_at=now,
        lines_done=base.lines_done if base else 0,
        consumed_sha256=base.consumed_sha256 if base else _EMPTY_SHA256,
        consumed_bytes=base.consumed_bytes if base else 0,
        accepted=base.accepted if base else 0,
        rejected=base.rejected if base else 0,
    )


class _Batch:
    """Lines read and judged, ready to commit: the reports, the refused lines with their reasons, the last
    line it covers, the bytes it took, and the SHA-256 and length of the input up to its last line."""

    def __init__(self) -> None:
        self.items: list[ReportInput] = []
        self.errors: list[tuple[int, str]] = []
        self.lines = 0
        self.bytes = 0
        self.last_line = 0
        self.digest = _EMPTY_SHA256
        self.through = 0
        self.final = False


def import_reports(
    stream: BinaryIO,
    *,
    name: str,
    partner: Partner | None,
    fmt: str | None = None,
    restart: bool = False,
    on_error: Callable[[int, str], None] = lambda line, reason: None,
    on_progress: Callable[[int], None] = lambda consumed: None,
    on_notice: Callable[[str], None] = lambda message: None,
    batch_lines: int | None = None,
) -> ImportOutcome:
    """Import the reports of `stream` (bytes) as `partner`'s; resume where an earlier run of the same input
    stopped, after checking that the lines it skips are the ones that run recorded (module docstring).
    `restart`: ignore earlier runs, import from line 1 as a new run.

    Side effects: each batch of lines is recorded through `submit_reports` (new cases, reports, their events)
    in one transaction with the run's progress (`ImportRun`: lines done, the digest and length of their
    bytes, accepted, rejected); the run is marked finished at the end. A new run is created for an input no
    earlier run read (or with `restart`). Each line that cannot be a report is passed to
    `on_error(line, reason)` and counted, never recorded; `on_progress(bytes)` is called per batch;
    `on_notice(message)` says that a seekable input is imported again from line 1 because it is not the one
    an earlier run read. Raises ImportFatal (nothing of the current batch is recorded) for a bad CSV header,
    a stream that is not the one an earlier run read (nothing recorded), or a second import of the input
    running, and ImportInterrupted, naming the last recorded line, when interrupted (KeyboardInterrupt).

    Reading and judging lines (Python work) runs in a thread of its own, one batch ahead of the database
    work here (which releases the interpreter while PostgreSQL works), so the two overlap; the thread never
    touches the database, and batches commit in order.
    """
    batch_lines = batch_lines or settings.IMPORT_BATCH_LINES
    origin = _origin(stream)
    head = stream.read(HEAD_BYTES)
    fmt = fmt or sniff_format(head)
    key = input_key(head, partner=partner, fmt=fmt)
    with _input_lock(key, name):
        earlier = None if restart else ImportRun.objects.filter(key=key).order_by("-pk").first()
        return _import(
            _Input(stream, head, origin, name, fmt, key, partner),
            earlier,
            batch_lines=batch_lines,
            on_error=on_error,
            on_progress=on_progress,
            on_notice=on_notice,
        )


@dataclass
class _Input:
    stream: BinaryIO
    head: bytes
    origin: int | None  # where a seekable input starts; None for a stream, which is read once
    name: str
    fmt: str
    key: str
    partner: Partner | None


def _origin(stream: BinaryIO) -> int | None:
    try:
        return stream.tell() if stream.seekable() else None
    except (OSError, ValueError, AttributeError):
        return None


def _import(source: _Input, earlier: ImportRun | None, *, batch_lines, on_error, on_progress, on_notice):
    """Check the input against `earlier` (the latest run with its key), pick or create the run, and import
    the lines after the ones it has done."""
    name, run = source.name, None
    try:
        reader = _LineReader(source.head, source.stream)
        lines: Iterator[tuple[bytes | None, int]] = iter(reader)
        number, first, base, resume = 0, None, None, False
        if earlier is not None:
            same, number, first = _skip(lines, reader, earlier)
            resume = same and earlier.finished_at is None
            if same and not resume:
                following = next(lines, None)
                if following is None:
                    return ImportOutcome(run=earlier, skipped=earlier.lines_done, already_done=True)
                lines, base = itertools.chain([following], lines), earlier  # this input goes on after it
            elif not same:
                reader, lines = _read_again(source, number, on_notice)
                number, first = 0, None
        if resume:
            run = earlier
        else:
            run = _new_run(key=source.key, name=name, fmt=source.fmt, partner=source.partner, base=base)
        outcome = ImportOutcome(run=run, skipped=number, continued=base is not None)
        columns = None
        if number and source.fmt == "csv":
            columns = _header(first.removeprefix(_BOM) if first is not None else None, name)
        if number:
            on_progress(run.consumed_bytes)
        batches = _batches(
            lines, reader, fmt=source.fmt, name=name, done=number, columns=columns, batch_lines=batch_lines
        )
        for batch in read_ahead(batches):
            for line, reason in batch.errors:
                _note_error(outcome, line, reason, on_error)
            _commit(run, batch, outcome, on_progress)
    except KeyboardInterrupt:
        # The batch being written is rolled back with its progress; `run` moves only after a commit.
        done = run.lines_done if run is not None else earlier.lines_done if earlier is not None else 0
        raise ImportInterrupted(name, done) from None
    return outcome


def _skip(lines, reader: _LineReader, run: ImportRun) -> tuple[bool, int, bytes | None]:
    """Read lines 1–`run.lines_done`: (whether their bytes are the ones `run` committed, the number of the
    line where that was decided, line 1 as read). Stops at the first line that takes the input past the
    run's byte count."""
    first, number, consumed = None, 0, 0
    for number, (raw, size) in enumerate(itertools.islice(lines, run.lines_done), start=1):
        if number == 1:
            first = raw
        consumed += size
        if consumed > run.consumed_bytes:
            return False, number, first
    if number < run.lines_done:
        return False, number + 1, first  # the input ends before the run's last line
    digest, length = reader.digest()
    return length == run.consumed_bytes and digest == run.consumed_sha256, number, first


def _read_again(source: _Input, line: int, on_notice) -> tuple[_LineReader, Iterator]:
    """An input that is not the one the earlier run read: a seekable one from its start again (as a new
    run), a stream not at all (what it skipped cannot be read again)."""
    why = f"not the input an earlier import of it read (they differ by line {line:,})"
    if source.origin is None:
        raise ImportFatal(
            f"{source.name}:{line}: {why}, and a stream cannot be read again from line 1; nothing was "
            "recorded. Run the command again with --restart to import it from line 1 as a new run."
        )
    on_notice(f"{source.name}:{line}: {why}; importing it from line 1 as a new run")
    source.stream.seek(source.origin)
    reader = _LineReader(source.stream.read(HEAD_BYTES), source.stream)
    return reader, iter(reader)


def _batches(lines, reader: _LineReader, *, fmt: str, name: str, done: int, columns, batch_lines: int):
    """The input's lines after line `done` (read already; `columns`: the CSV header's), judged, in
    batches of `batch_lines`, each with the digest of the input up to its last line; the last one is
    `final`."""
    batch = _Batch()
    number = done
    now = timezone.now()
    for number, (raw, consumed) in enumerate(lines, start=done + 1):
        batch.bytes += consumed
        batch.lines += 1
        if number == 1:
            raw = raw.removeprefix(_BOM) if raw is not None else None
            if fmt == "csv":
                columns = _header(raw, name)
                continue
        item, reason = _parse(raw, fmt, columns, now)
        if item is not None:
            batch.items.append(item)
        elif reason != BLANK:
            batch.errors.append((number, reason))
        if batch.lines >= batch_lines:
            batch.last_line = number
            batch.digest, batch.through = reader.digest()
            yield batch
            batch, now = _Batch(), timezone.now()
    if fmt == "csv" and columns is None:
        raise ImportFatal(f"{name}:1: the input is empty; CSV needs a header row with a 'url' column")
    batch.last_line, batch.final = number, True
    batch.digest, batch.through = reader.digest()
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
            consumed_sha256=batch.digest,
            consumed_bytes=batch.through,
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
    run.consumed_sha256, run.consumed_bytes = batch.digest, batch.through
    run.accepted += len(results)
    run.rejected += rejected
    run.finished_at = now if batch.final else None
    outcome.lines += batch.lines
    outcome.accepted += len(results)
    outcome.duplicates += sum(r.duplicate for r in results)
    outcome.rejected += rejected
    on_progress(batch.bytes)
