"""`import_registry` as a function: open the files, guard the dataset, load a generation, switch, clean up."""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime

from django.db import DatabaseError, connection, transaction

from notices.hosting.importers import delegated, ripe, routing
from notices.hosting.importers.errors import ImportFailed, ImportRefused, Skips
from notices.hosting.importers.generation import Generation, drop_superseded
from notices.hosting.importers.inputs import InputFile
from notices.models import RegistryImport

FORMATS = ("ripe", "pyasn", "mmdb", "delegated")


@dataclass
class ImportSummary:
    record: RegistryImport
    objects: int
    seconds: float
    skips: Skips
    dropped: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """What one format needs: the dataset it replaces, its data's time, and how to load it."""

    dataset: str
    data_time: datetime | None
    load: Callable[[Generation, Skips], int]
    carry_over: Callable[[Generation], tuple[str, ...]] = lambda generation: ()
    close: Callable[[], None] = lambda: None


def import_files(
    fmt: str,
    paths: list[str],
    *,
    now: datetime,
    force: bool = False,
    as_of: datetime | None = None,
    show_progress: bool | None = None,
) -> ImportSummary:
    """Import `paths` as a new generation of the format's dataset and make it the active one.

    Raises ImportRefused (nothing done) when the data is older than the active generation (unless `force`) or
    another import of the dataset runs; ImportFailed (nothing activated, a `failed` RegistryImport recorded)
    on fatal input errors. Side effects: the new generation's tables, the dataset's active generation,
    the superseded generation's tables dropped.
    """
    plan = _plan(fmt, paths, show_progress)
    try:
        data_time = as_of or plan.data_time or now
        with _dataset_lock(plan.dataset):
            _refuse_older(plan.dataset, data_time, force)
            started = time.perf_counter()
            skips = Skips()
            try:
                with transaction.atomic():
                    generation = Generation(dataset=plan.dataset, files=paths, data_time=data_time, now=now)
                    try:
                        objects = plan.load(generation, skips)
                    except BaseException:
                        generation.abort()
                        raise
                    record = generation.activate(
                        now=now, skipped=skips.reasons, carry_over=plan.carry_over(generation)
                    )
            except (ImportFailed, DatabaseError) as exc:
                _record_failure(plan.dataset, paths, data_time, now, exc, skips)
                if isinstance(exc, ImportFailed):
                    raise
                raise ImportFailed(paths[0], None, f"the database refused the data: {exc}") from exc
            dropped = drop_superseded(plan.dataset)
            return ImportSummary(record, objects, time.perf_counter() - started, skips, dropped)
    finally:
        plan.close()


def _open_all(paths: list[str], show_progress: bool | None) -> list[InputFile]:
    return [InputFile(path, show_progress=show_progress) for path in paths]


def _plan(fmt: str, paths: list[str], show_progress: bool | None) -> Plan:
    if fmt == "mmdb":
        return _mmdb_plan(paths, show_progress)
    inputs = _open_all(paths, show_progress)
    close = lambda: [f.close() for f in inputs]  # noqa: E731
    if fmt == "ripe":
        newest = max(f.data_time() for f in inputs)
        return Plan(
            RegistryImport.Dataset.RIPE, newest, lambda g, s: ripe.load(g, inputs, s), ripe.carry_over, close
        )
    header = _header_time(inputs, routing.pyasn_data_time if fmt == "pyasn" else delegated.data_time)
    if fmt == "pyasn":
        return Plan(
            RegistryImport.Dataset.PYASN, header, lambda g, s: routing.load_pyasn(g, inputs, s), close=close
        )
    return Plan(
        RegistryImport.Dataset.DELEGATED, header, lambda g, s: delegated.load(g, inputs, s), close=close
    )


def _header_time(inputs: list[InputFile], reader: Callable) -> datetime:
    """The newest time the files' headers state; a file without one counts with its modification time."""
    times = []
    for infile in inputs:
        with suppress(ImportFailed, zlib.error):
            stated = reader(infile)
        times.append(stated or infile.data_time())
    return max(times)


def _mmdb_plan(paths: list[str], show_progress: bool | None) -> Plan:
    if len(paths) != 1:
        raise ImportFailed(", ".join(paths), None, "import one MMDB database at a time")
    reader = routing.open_mmdb(paths[0])
    try:
        dataset = routing.mmdb_dataset(reader, paths[0])
    except ImportFailed:
        reader.close()
        raise
    return Plan(
        dataset,
        routing.mmdb_data_time(reader),
        lambda g, s: routing.load_mmdb(g, reader, paths[0], s, show_progress=show_progress),
        close=reader.close,
    )


@contextmanager
def _dataset_lock(dataset: str):
    """One import per dataset at a time (a session-level advisory lock, released however the import ends)."""
    key = f"import_registry:{dataset}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [key])
        if not cursor.fetchone()[0]:
            raise ImportRefused(f"another import of {dataset} is running")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [key])


def _refuse_older(dataset: str, data_time: datetime, force: bool) -> None:
    """Only a newer import replaces older data; the same data again is allowed (re-runs are idempotent)."""
    active = RegistryImport.objects.filter(dataset=dataset, status=RegistryImport.Status.ACTIVE).first()
    if active is not None and data_time < active.data_time and not force:
        raise ImportRefused(
            f"{dataset}: this data ({data_time:%Y-%m-%d %H:%M} UTC) is older than the active import "
            f"#{active.pk} ({active.data_time:%Y-%m-%d %H:%M} UTC); use --force to import it anyway"
        )


def _record_failure(dataset, paths, data_time, now, exc, skips: Skips) -> None:
    RegistryImport.objects.create(
        dataset=dataset,
        status=RegistryImport.Status.FAILED,
        files=paths,
        data_time=data_time,
        started_at=now,
        finished_at=now,
        skipped=skips.reasons,
        message=str(exc)[:2000],
    )
