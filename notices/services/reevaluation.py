"""Re-evaluating the open cases after a registry import: whose hosting does the new data move?

A case's trace says who hosted its address when it was traced. An import can move that address to another
provider, network (ASN) or country without the address changing — a network sold, re-assigned or re-announced.
Those cases have hopped, and their notices, routing and escalation must follow. The steps:

1. build the lookup index from the newly active generations, once (notices.hosting.lookup);
2. stream every open case (OPEN_STATUSES) whose current trace resolved an address, with one server-side
   cursor (the current traces come from the covering index trace_answer_idx), and look the address up;
3. compare the answer with the trace's provider, ASN and country; a URL or host override the trace applied
   keeps the fields it sets, and where the trace asks RDAP live (no registry network covers the address) only
   the ASN can be compared;
4. for each changed case write a `url.hosting_changed` event (old and new values) — once: a case whose latest
   such event since its trace already names the same new values gets no second one;
5. queue a re-trace (`notices.trace_url`, after commit) for at most REEVALUATE_MAX_RETRACES of the changed
   cases; the tracer stores the new trace (and the URL's provider) and marks the hop, and routing, dispatch
   and escalation go by the new trace from then on.

Cases over the cap keep their event and are not lost: their trace still disagrees with the data, so the next
re-evaluation (the next import, or `manage.py reevaluate_hosting`) finds them again and queues them, without
a second event. A case the index and the trace disagree on for a reason the index does not model (a URL
override on an address that also has a prefix or ASN override) is re-traced at most once per re-evaluation.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction

from notices.enums import UrlStatus
from notices.hosting.lookup import IpAnswer, IpIndex, build_index
from notices.infra import enqueue
from notices.infra.events import NewEvent, record_events
from notices.infra.write_behind import WriteBehind
from notices.models import Event, HostingOverride, HostingTrace, Url

logger = logging.getLogger(__name__)

# Not closed: awaiting assessment, assessed illegal (awaiting notice) and notified (awaiting removal). Not
# illegal, removed and gone-before-notice cases need no provider any more; a removed case that reappears is
# traced again when it is reopened.
OPEN_STATUSES = (UrlStatus.NEW, UrlStatus.ASSESSED, UrlStatus.NOTIFIED)
EVENT_KIND = "url.hosting_changed"
FETCH_ROWS = 10_000  # rows per FETCH from the server-side cursor: a few MB of Python objects at most
SEND_BATCH = 500  # re-traces sent by one on-commit callback

_OPEN_CASES = f"""
    SELECT host(t.ip), t.provider_id, t.asn, t.country, u.id, t.override_id
    FROM {Url._meta.db_table} u JOIN {HostingTrace._meta.db_table} t ON t.id = u.current_trace_id
    WHERE u.status = ANY(%s) AND t.ip IS NOT NULL"""

# The latest `url.hosting_changed` event of each case since its current trace (event_url_idx: url, at).
_RECORDED = f"""
    SELECT DISTINCT ON (e.url_id) e.url_id, e.data ->> 'to'
    FROM {Event._meta.db_table} e
    JOIN {Url._meta.db_table} u ON u.id = e.url_id
    JOIN {HostingTrace._meta.db_table} t ON t.id = u.current_trace_id
    WHERE e.url_id = ANY(%s) AND e.kind = %s AND e.at >= t.traced_at
    ORDER BY e.url_id, e.at DESC, e.id DESC"""


@dataclass
class Summary:
    """What one re-evaluation found and did. `changed` counts cases; `by_kind` counts each changed field."""

    examined: int = 0
    changed: int = 0
    by_kind: Counter = field(default_factory=Counter)
    events: int = 0
    retraces: int = 0
    deferred: int = 0
    seconds: float = 0.0
    generations: dict[str, int] = field(default_factory=dict)
    index_prefixes: int = 0
    index_seconds: float = 0.0

    def describe(self) -> str:
        """The summary the commands print."""
        rate = self.examined / self.seconds if self.seconds else 0
        kinds = ", ".join(f"{kind} {self.by_kind[kind]:,}" for kind in ("provider", "asn", "country"))
        generations = ", ".join(f"{dataset} #{pk}" for dataset, pk in sorted(self.generations.items()))
        lines = [
            f"Re-evaluated {self.examined:,} open cases against {generations or 'no registry data'} "
            f"in {self.seconds:.1f} s ({rate:,.0f}/s; lookup index of {self.index_prefixes:,} prefixes "
            f"built in {self.index_seconds:.1f} s).",
            f"Hosting changed for {self.changed:,} ({kinds}); {self.events:,} new {EVENT_KIND} events; "
            f"{self.retraces:,} re-traces queued.",
        ]
        if self.deferred:
            lines.append(
                f"{self.deferred:,} re-traces over REEVALUATE_MAX_RETRACES wait for the next re-evaluation "
                "(the next import, or manage.py reevaluate_hosting)."
            )
        return "\n".join(lines)


@dataclass
class Change:
    url_id: int
    ip: str
    old: dict
    new: dict
    kinds: list[str]
    org_handle: str  # the organisation the data now names (a provider not yet known has no id until traced)


def reevaluate_open_cases(
    *, now: datetime, index: IpIndex | None = None, on_progress: Callable[[int], None] | None = None
) -> Summary:
    """Compare every open case's trace with the active registry data (steps in the module docstring).

    `index`: one built from the active generations (default: built now). `on_progress(n)` is called after each
    batch of n cases. Side effects, in one transaction: a `url.hosting_changed` event per changed case (not
    repeated for a change already recorded since the case's trace); after commit, a `notices.trace_url` task
    for at most REEVALUATE_MAX_RETRACES of them. Nothing else changes: the re-trace writes the new trace.
    """
    started = time.perf_counter()
    index = build_index() if index is None else index
    summary = Summary(
        generations=index.generations, index_prefixes=index.nodes, index_seconds=index.build_seconds
    )
    retraces = _Retraces(settings.REEVALUATE_MAX_RETRACES)
    with transaction.atomic(), WriteBehind() as writes:
        pins = _pins()
        for rows in open_case_batches():
            changes = _changes(rows, index, pins)
            summary.examined += len(rows)
            if changes:
                record_events(_new_events(changes, now, index, retraces, summary), writes=writes)
            if on_progress is not None:
                on_progress(len(rows))
        retraces.flush()
    summary.retraces, summary.deferred = retraces.queued, retraces.deferred
    summary.seconds = time.perf_counter() - started
    return summary


def open_case_batches() -> Iterator[list[tuple]]:
    """Step 2: the open cases' (address, provider, ASN, country, url id, override id) from their current
    traces, in batches, through a server-side cursor (memory stays bounded). Needs a transaction (the
    cursor's)."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(_OPEN_CASES, [[str(status) for status in OPEN_STATUSES]])
        while rows := cursor.fetchmany(FETCH_ROWS):
            yield rows


def _pins() -> dict[int, tuple[int | None, str]]:
    """URL and host overrides (the ones the index does not apply): id → (provider, country) they set."""
    rows = HostingOverride.objects.filter(scope__in=("url", "host")).values_list(
        "pk", "provider_id", "country"
    )
    return {pk: (provider, country) for pk, provider, country in rows}


def _changes(rows: list[tuple], index: IpIndex, pins: dict[int, tuple[int | None, str]]) -> list[Change]:
    """Step 3. The plain comparison settles almost every row; only rows that differ get a closer look."""
    lookup, unknown = index.lookup, index.unknown
    changes = []
    for ip, provider, asn, country, url_id, override_id in rows:
        answer = lookup(ip) or unknown
        if answer.provider_id == provider and answer.asn == asn and answer.country == country:
            continue
        old = {"provider": provider, "asn": asn, "country": country}
        new = _expected(answer, old, *pins.get(override_id, (None, "")))
        kinds = [kind for kind in old if old[kind] != new[kind]]
        if kinds:
            changes.append(Change(url_id, ip, old, new, kinds, answer.org_handle))
    return changes


def _expected(answer: IpAnswer, old: dict, pinned_provider: int | None, pinned_country: str) -> dict:
    """What a trace would now say: the index's answer, with what a URL or host override sets kept, and the
    trace's own provider and country where they come from RDAP (which the index does not know)."""
    if answer.rdap:
        return {**old, "asn": answer.asn}
    return {
        "provider": pinned_provider or answer.provider_id,
        "asn": answer.asn,
        "country": pinned_country or answer.country,
    }


def _new_events(
    changes: list[Change], now: datetime, index: IpIndex, retraces: _Retraces, summary: Summary
) -> list[NewEvent]:
    """Steps 4–5 for one batch: the events to write, and the re-traces queued (up to the cap)."""
    recorded = _recorded(change.url_id for change in changes)
    events = []
    for change in changes:
        summary.changed += 1
        summary.by_kind.update(change.kinds)
        queued = retraces.add(change.url_id)
        if recorded.get(change.url_id) == change.new:
            continue
        data = {
            "ip": change.ip,
            "from": change.old,
            "to": change.new,
            "changed": change.kinds,
            "org_handle": change.org_handle,
            "retrace": queued,
            "generations": index.generations,
        }
        events.append(NewEvent(EVENT_KIND, now, change.url_id, None, "system", data))
    summary.events += len(events)
    return events


def _recorded(url_ids) -> dict[int, dict]:
    """url id → the new values of its latest `url.hosting_changed` event since its current trace."""
    with connection.cursor() as cursor:
        cursor.execute(_RECORDED, [list(url_ids), EVENT_KIND])
        return {url_id: json.loads(to) for url_id, to in cursor.fetchall() if to}


class _Retraces:
    """Step 5: re-traces queued after commit, SEND_BATCH per callback, at most `limit` in all."""

    def __init__(self, limit: int) -> None:
        self.limit, self.queued, self.deferred = limit, 0, 0
        self._batch: list[int] = []

    def add(self, url_id: int) -> bool:
        if self.queued >= self.limit:
            self.deferred += 1
            return False
        self.queued += 1
        self._batch.append(url_id)
        if len(self._batch) >= SEND_BATCH:
            self.flush()
        return True

    def flush(self) -> None:
        if self._batch:
            enqueue.after_commit_many(
                enqueue.TRACE_URL,
                [[url_id] for url_id in self._batch],
                queue=settings.CELERY_QUEUE_PREFIX + enqueue.IMPORTS_QUEUE,
            )
            self._batch = []
