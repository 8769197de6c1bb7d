"""When each rung of a ladder is due for one case: plain functions over plain values (no queries).

A rung is "`delay` after its anchor → action", once or every `repeat_every` (at most `repeat_times` times).
The anchor is the notice's sending, the notice's deadline (a negative delay reminds before it), or the
previous rung's first run. For one case (a URL in its notice cycle) and the runs it already took:

1. a rung whose run failed waits for that run's retry (`next_attempt_at`), and repeats nothing meanwhile;
2. a rung anchored on the previous one waits until that one was taken;
3. otherwise its next occurrence is due at anchor + delay + (n − 1) × repeat_every; occurrences a sweep
   missed (the service was down) are not sent one after another: the latest due one is taken, once;
4. the time the case's clock stood still after the anchor (`stops`: law-enforcement holds and pauses, each
   (start, end)) moves the anchor on by as much: the ladder resumes where it stood when the clock stopped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from notices.enums import StepAnchor, StepRunStatus


@dataclass(frozen=True)
class Rung:
    """A ladder step as the schedule reads it."""

    step_id: int
    position: int
    action: str
    anchor: str
    delay: timedelta
    repeat_every: timedelta | None = None
    repeat_times: int | None = None


@dataclass(frozen=True)
class Taken:
    """A run the case took (or is retrying)."""

    run_id: int
    step_id: int
    occurrence: int
    status: str
    performed_at: datetime | None
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class Due:
    """A rung occurrence to take now; `retry` names the failed run to take again."""

    rung: Rung
    occurrence: int
    at: datetime
    retry: int | None = None


@dataclass(frozen=True)
class Plan:
    """What one case needs now, and when it needs the sweep next (None: never again in this cycle)."""

    due: list[Due]
    next_at: datetime | None


def plan(
    rungs: list[Rung],
    taken: Iterable[Taken],
    *,
    sent_at: datetime,
    deadline_at: datetime | None,
    now: datetime,
    stops: Iterable[tuple[datetime, datetime]] = (),
) -> Plan:
    """The occurrences due at `now` and the next time anything is (see the module docstring)."""
    stops = list(stops)
    by_step: dict[int, list[Taken]] = {}
    for run in taken:
        by_step.setdefault(run.step_id, []).append(run)
    due, upcoming = [], []
    previous: Rung | None = None
    for rung in sorted(rungs, key=lambda r: r.position):
        runs = by_step.get(rung.step_id, [])
        retrying = [run for run in runs if run.status == StepRunStatus.RETRYING]
        if retrying:
            run = retrying[0]
            if run.next_attempt_at is not None and run.next_attempt_at <= now:
                due.append(Due(rung, run.occurrence, run.next_attempt_at, retry=run.run_id))
            elif run.next_attempt_at is not None:
                upcoming.append(run.next_attempt_at)
        else:
            base = _anchor(rung, previous, by_step, sent_at=sent_at, deadline_at=deadline_at)
            if base is not None:
                base += stopped_after(base, stops)
            occurrence = _next_occurrence(rung, runs, base, now) if base is not None else None
            if occurrence is not None:
                at = base + rung.delay + (occurrence - 1) * (rung.repeat_every or timedelta(0))
                if at <= now:
                    due.append(Due(rung, occurrence, at))
                else:
                    upcoming.append(at)
        previous = rung
    return Plan(due, min(upcoming, default=None))


def stopped_after(anchor: datetime, stops: list[tuple[datetime, datetime]]) -> timedelta:
    """How long the clock stood still after `anchor` (overlapping stops counted once)."""
    total, reached = timedelta(0), anchor
    for start, end in sorted(stops):
        start = max(start, reached)
        if end > start:
            total += end - start
            reached = end
    return total


def _anchor(
    rung: Rung, previous: Rung | None, by_step: dict, *, sent_at: datetime, deadline_at: datetime | None
) -> datetime | None:
    if rung.anchor == StepAnchor.DEADLINE:
        return deadline_at or sent_at
    if rung.anchor == StepAnchor.PREVIOUS and previous is not None:
        first = [run for run in by_step.get(previous.step_id, []) if run.occurrence == 1 and run.performed_at]
        return first[0].performed_at if first else None
    return sent_at


def _next_occurrence(rung: Rung, runs: list[Taken], base: datetime, now: datetime) -> int | None:
    """The occurrence to take next (the latest one due when several are), or None when the rung is done."""
    last = max((run.occurrence for run in runs), default=0)
    if rung.repeat_every is None:
        return None if last else 1
    if rung.repeat_times is not None and last >= rung.repeat_times:
        return None
    first = base + rung.delay
    if now < first + last * rung.repeat_every:
        return last + 1
    latest = (now - first) // rung.repeat_every + 1  # the newest occurrence due by now
    return max(last + 1, min(latest, rung.repeat_times or latest))
