"""The escalation sweep: claim the cases whose next step is due, take their steps, schedule the next.

1. Claim (`claim_due`): due cases (`Url.next_escalation_at <= now`) are taken with SKIP LOCKED and their
   schedule moved to the end of a lease (ESCALATION_CLAIM_TIMEOUT), never cleared: a sweep that dies leaves
   them due again when the lease ends. The claim reads only the partial index of scheduled cases, so it costs
   what is due, not what is open.
2. Plan: each case follows its newest open notice that went out (`selectors.escalation.cases`: never a
   draft, a withdrawn or a closed notice); its ladder is the provider's policy for the notice type, else the
   type's default; `selectors.ladder.plan` says which rungs are due.
3. Take: the due rungs of one notice form one run (`StepRun`, unique per notice, step and occurrence: never
   taken twice, even by two sweeps at once). Within one transaction per chunk of runs, the cases are locked
   and checked again — content removed between the claim and now cancels its part of the run — and each
   action's performer takes its runs at once (`steps.perform`). A performer reports failures instead of
   raising; should a chunk raise all the same, its runs are taken again one by one, and a run that still
   raises is recorded as failed. A failed run is retried with backoff kept in the database
   (ESCALATION_RETRY_BASE × 2ⁿ, at most ESCALATION_RETRY_MAX) and alerts the analysts at its first failure;
   no case ever leaves its ladder because a step failed.
   A case whose clock stands still (a law-enforcement hold, or a pause while the provider awaits the
   analyst's answer: `ClockStop`) takes no step; found so at the claim, it waits until the stop ends
   (`url.escalation_waits`), and found so under the lock (the hold came between the claim and the step),
   its part of the run is left out. When the clock runs again, its ladder is shifted by the stopped time.
4. Schedule: the claimed cases are planned again and get their next due time (none when the case ended,
   follows no notice, has no policy or has taken its whole ladder — said on its timeline).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from notices.enums import AlertKind, OutboxStatus, StepRunStatus, UrlStatus
from notices.infra import metrics
from notices.infra.bulk import bulk_set
from notices.infra.claims import claim
from notices.infra.events import new_event, record_events
from notices.infra.retry import backoff
from notices.models import Escalation, Notice, NoticeItem, OutgoingMessage, StepRun, Url
from notices.selectors import escalation as selectors
from notices.selectors.ladder import Due, Plan, plan
from notices.services.alerts import raise_alert
from notices.services.escalation.steps import Outcome, Work, failed, perform, sentence

logger = logging.getLogger(__name__)
CHUNK = 500  # runs per transaction: bounds the locks one transaction holds


def claim_due(*, now: datetime, limit: int) -> list[int]:
    """Claim up to `limit` cases whose next step is due, under a lease (see the module docstring)."""
    rows = claim(
        table=Url._meta.db_table,
        due="next_escalation_at IS NOT NULL AND next_escalation_at <= %(now)s",
        order_by="next_escalation_at",
        limit=limit,
        assign="next_escalation_at = %(lease)s",
        params={"now": now, "lease": now + timedelta(seconds=settings.ESCALATION_CLAIM_TIMEOUT)},
    )
    return [row[0] for row in rows]


def sweep(*, now: datetime, limit: int | None = None) -> int:
    """Claim one bounded batch (ESCALATION_BATCH_SIZE) and take its due steps; returns the runs taken."""
    return take_steps(claim_due(now=now, limit=limit or settings.ESCALATION_BATCH_SIZE), now=now)


@dataclass
class Group:
    """The claimed cases of one notice due for the same rung occurrence: one run."""

    notice_id: int
    due: Due
    level: int
    url_ids: list[int]


def take_steps(url_ids: list[int], *, now: datetime) -> int:
    """Take the due steps of claimed cases and schedule their next (steps 2–4). Returns the runs taken."""
    if not url_ids:
        return 0
    ladders = selectors.active_ladders()
    groups = _groups(_plans(url_ids, ladders, now=now))
    taken = 0
    for start in range(0, len(groups), CHUNK):
        taken += _take_chunk(groups[start : start + CHUNK], now=now)
    _schedule(url_ids, ladders, now=now)
    return taken


def _plans(url_ids: list[int], ladders: dict, *, now: datetime) -> dict:
    """(case, ladder, plan) per claimed case; ladder and plan None for a case with nothing to climb."""
    cases = selectors.cases(url_ids)
    followed = [(c.url_id, c.notice_id) for c in cases if c.notice_id and c.status == UrlStatus.NOTIFIED]
    runs = selectors.taken(followed)
    stops = selectors.stops([url_id for url_id, _notice in followed], now=now)
    plans = {}
    for case in cases:
        ladder = None
        if case.notice_id and case.status == UrlStatus.NOTIFIED:
            ladder = selectors.ladder_for(ladders, case.notice_type, case.provider_id)
        stopped = stops.get(case.url_id, NO_STOPS)
        if ladder is None or stopped.in_force:
            plans[case.url_id] = (case, ladder if stopped.in_force else None, stopped if ladder else None)
            continue
        plans[case.url_id] = (
            case,
            ladder,
            plan(
                ladder.rungs,
                runs[(case.url_id, case.notice_id)],
                sent_at=case.sent_at,
                deadline_at=case.deadline_at,
                now=now,
                stops=stopped.ended,
            ),
        )
    return plans


NO_STOPS = selectors.Stops(ended=[])


def _groups(plans: dict) -> list[Group]:
    groups: dict[tuple, Group] = {}
    for case, _ladder, planned in plans.values():
        for due in planned.due if isinstance(planned, Plan) else []:
            key = (case.notice_id, due.rung.step_id, due.occurrence)
            group = groups.setdefault(key, Group(case.notice_id, due, due.rung.position, []))
            group.url_ids.append(case.url_id)
    return list(groups.values())


def _take_chunk(groups: list[Group], *, now: datetime) -> int:
    """Take a chunk's runs in one transaction; should it raise, each run alone, and a run that still raises
    is recorded as failed (retried, alerting): one broken case never holds up the rest of its batch."""
    try:
        with transaction.atomic():
            return _take(groups, now=now)
    except Exception as exc:
        logger.exception("escalation: a chunk of %d run(s) raised", len(groups))
        if len(groups) == 1:
            _record_crash(groups[0], exc, now=now)
            return 0
    taken = 0
    for group in groups:
        try:
            with transaction.atomic():
                taken += _take([group], now=now)
        except Exception as exc:
            logger.exception("escalation: the run for notice %s raised", group.notice_id)
            _record_crash(group, exc, now=now)
    return taken


_LOCK_NOTICE = 0x5169  # advisory lock class: the escalation runs of one notice


def _serialize_notices(notice_ids: set[int]) -> None:
    """Sweeps take the runs of one notice one at a time (an advisory lock per notice until the transaction
    ends, taken in notice order, so two sweeps never wait for each other). Without it, two sweeps that each
    claimed some cases of one notice would each lock their own first, and the one that starts the run could
    not add the other's cases to its mail (they are locked): the repeat would not name them all."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, (n %% 2147483647)::int)"
            " FROM (SELECT n FROM unnest(%s::bigint[]) AS n ORDER BY n OFFSET 0) AS ordered",
            [_LOCK_NOTICE, sorted(notice_ids)],
        )


def _take(groups: list[Group], *, now: datetime) -> int:
    """Lock the notices' runs and the cases, start the runs (or find them taken), perform the new ones,
    record what they did."""
    _serialize_notices({group.notice_id for group in groups})
    live = _lock_live(groups)
    held = selectors.stops(sorted({pk for pk, _notice in live}), now=now)
    live = {pair for pair in live if not held.get(pair[0], NO_STOPS).in_force}  # a hold or pause came first
    for group in groups:
        group.url_ids = [pk for pk in group.url_ids if (pk, group.notice_id) in live]
    groups = [group for group in groups if group.url_ids]  # removed meanwhile: nothing to take
    if not groups:
        return 0
    _add_siblings(groups)
    run_ids, fresh = _start_runs(groups, now=now)
    _attach(groups, run_ids, now=now)
    notices = Notice.objects.select_related("provider").in_bulk({g.notice_id for g in groups})
    works = [
        Work(run_ids[id(g)], g.due.rung, g.due.occurrence, notices[g.notice_id], sorted(g.url_ids))
        for g in groups
        if id(g) in fresh
    ]
    _leave_out_reached(works, retried={run_ids[id(g)] for g in groups if g.due.retry is not None})
    outcomes = perform([w for w in works if w.url_ids], now=now)
    for work in works:
        if not work.url_ids:  # every URL's mail went out in an earlier attempt
            outcomes[work.run_id] = Outcome(StepRunStatus.DONE, f"{sentence(work)}: every mail went out.")
    record(works, outcomes, now=now)
    return len(works)


def _leave_out_reached(works: list[Work], *, retried: set[int]) -> None:
    """A retried run sends only to the URLs no mail of it reached (a run may mail several upstream networks,
    one of which refused): nothing goes out twice."""
    reached: dict[int, set[int]] = {}
    for run_id, url_ids in OutgoingMessage.objects.filter(
        run_id__in=retried, status=OutboxStatus.SENT
    ).values_list("run_id", "url_ids"):
        reached.setdefault(run_id, set()).update(url_ids or [])
    for work in works:
        if work.run_id in reached:
            work.url_ids = [pk for pk in work.url_ids if pk not in reached[work.run_id]]


def _lock_live(groups: list[Group]) -> set[tuple[int, int]]:
    """Lock the groups' cases and return the (URL, notice) pairs still noticed and open. FOR NO KEY UPDATE:
    it waits for a removal being recorded (and holds one up) as FOR UPDATE would, but lets a delivery worker
    commit rows naming these cases meanwhile (foreign-key checks take KEY SHARE locks)."""
    pairs = [(pk, g.notice_id) for g in groups for pk in g.url_ids]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT u.id, i.notice_id
                FROM unnest(%s::bigint[], %s::bigint[]) AS p(url_id, notice_id)
                JOIN {Url._meta.db_table} AS u ON u.id = p.url_id
                JOIN {NoticeItem._meta.db_table} AS i ON i.url_id = u.id AND i.notice_id = p.notice_id
                WHERE u.status = %s AND i.is_open
                ORDER BY u.id FOR NO KEY UPDATE OF u""",
            [[url for url, _ in pairs], [notice for _, notice in pairs], UrlStatus.NOTIFIED.value],
        )
        return set(cursor.fetchall())


def _add_siblings(groups: list[Group]) -> None:
    """A new run takes every case of its notice still noticed and open, not only the claimed ones: cases of
    one notice share their ladder's times, but a batch's limit or another worker's claim may have split
    them, and the repeat (or the upstream notice) must name them all. Siblings another transaction holds are
    skipped (SKIP LOCKED): that one takes or joins the run."""
    new = [g for g in groups if g.due.retry is None]
    if not new:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT i.notice_id, u.id FROM {NoticeItem._meta.db_table} AS i
                JOIN {Url._meta.db_table} AS u ON u.id = i.url_id
                WHERE i.notice_id = ANY(%s) AND i.is_open AND u.status = %s
                ORDER BY u.id FOR NO KEY UPDATE OF u SKIP LOCKED""",
            [sorted({g.notice_id for g in new}), UrlStatus.NOTIFIED.value],
        )
        siblings: dict[int, list[int]] = {}
        for notice_id, url_id in cursor.fetchall():
            siblings.setdefault(notice_id, []).append(url_id)
    for group in new:
        known = set(group.url_ids)
        group.url_ids += [pk for pk in siblings.get(group.notice_id, []) if pk not in known]


def _start_runs(groups: list[Group], *, now: datetime) -> tuple[dict[int, int], set[int]]:
    """The run of each group (by `id(group)`) and the groups whose run this sweep performs: new runs (one
    INSERT … ON CONFLICT DO NOTHING: a run another sweep started is left to it) and failed runs due for a
    retry (claimed by a conditional UPDATE, so two sweeps never retry one run)."""
    new = [g for g in groups if g.due.retry is None]
    retries = [g for g in groups if g.due.retry is not None]
    run_ids, fresh = {}, set()
    table = StepRun._meta.db_table
    with connection.cursor() as cursor:
        if new:
            cursor.execute(
                f"""INSERT INTO {table} (notice_id, step_id, occurrence, action, status, attempts, last_error,
                        target, detail, created_at)
                    SELECT n, s, o, a, %s, 1, '', '', '{{}}', %s
                    FROM unnest(%s::bigint[], %s::bigint[], %s::int[], %s::text[]) AS v(n, s, o, a)
                    ON CONFLICT DO NOTHING RETURNING notice_id, step_id, occurrence, id""",
                [
                    StepRunStatus.QUEUED.value,
                    now,
                    [g.notice_id for g in new],
                    [g.due.rung.step_id for g in new],
                    [g.due.occurrence for g in new],
                    [g.due.rung.action for g in new],
                ],
            )
            started = {tuple(row[:3]): row[3] for row in cursor.fetchall()}
            for group in new:
                key = (group.notice_id, group.due.rung.step_id, group.due.occurrence)
                if key in started:
                    run_ids[id(group)] = started[key]
                    fresh.add(id(group))
            metrics.count_steps((g.due.rung.action for g in new if id(g) in fresh), attempt="first")
            _existing(cursor, [g for g in new if id(g) not in run_ids], run_ids)
        if retries:
            cursor.execute(
                f"""UPDATE {table} SET attempts = attempts + 1
                    WHERE id = ANY(%s) AND status = %s AND next_attempt_at <= %s RETURNING id""",
                [[g.due.retry for g in retries], StepRunStatus.RETRYING.value, now],
            )
            claimed = {row[0] for row in cursor.fetchall()}
            for group in retries:
                run_ids[id(group)] = group.due.retry
                if group.due.retry in claimed:
                    fresh.add(id(group))
            metrics.count_steps(
                (g.due.rung.action for g in retries if g.due.retry in claimed), attempt="retry"
            )
    return run_ids, fresh


def _existing(cursor, groups: list[Group], run_ids: dict[int, int]) -> None:
    """The runs other sweeps started for these groups."""
    if not groups:
        return
    cursor.execute(
        f"""SELECT r.notice_id, r.step_id, r.occurrence, r.id FROM {StepRun._meta.db_table} AS r
            JOIN unnest(%s::bigint[], %s::bigint[], %s::int[]) AS v(n, s, o)
              ON r.notice_id = v.n AND r.step_id = v.s AND r.occurrence = v.o""",
        [
            [g.notice_id for g in groups],
            [g.due.rung.step_id for g in groups],
            [g.due.occurrence for g in groups],
        ],
    )
    found = {tuple(row[:3]): row[3] for row in cursor.fetchall()}
    for group in groups:
        run_ids[id(group)] = found[(group.notice_id, group.due.rung.step_id, group.due.occurrence)]


def _attach(groups: list[Group], run_ids: dict[int, int], *, now: datetime) -> None:
    """The cases' share of their runs (one row per URL and run; one INSERT)."""
    rows = [(pk, g.notice_id, run_ids[id(g)], g.level) for g in groups for pk in g.url_ids]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {Escalation._meta.db_table} (url_id, notice_id, run_id, level, reason, created_at)
                SELECT u, n, r, l, '', %s FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::int[])
                    AS v(u, n, r, l)
                ON CONFLICT DO NOTHING""",
            [now, *([row[i] for row in rows] for i in range(4))],
        )


def record(works: list[Work], outcomes: dict[int, Outcome], *, now: datetime) -> None:
    """Write what each run came to: its status and times, the words on each case's timeline
    (`url.escalated`, `url.escalation_skipped`, `url.escalation_failed`), the reason on its cases' rows;
    failures are scheduled for a retry with backoff and alert the analysts at the first."""
    runs = {run.pk: run for run in StepRun.objects.filter(pk__in=[w.run_id for w in works])}
    events, updated, reasons = [], [], []
    for work in works:
        run, outcome = runs[work.run_id], outcomes[work.run_id]
        run.status, run.target, run.detail = outcome.status, outcome.target[:2000], outcome.detail
        run.last_error = outcome.error[:2000]
        if outcome.status == StepRunStatus.RETRYING:
            run.next_attempt_at = now + retry_wait(run.attempts)
            run.performed_at = None
            outcome.text += f" Retry {run.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC (attempt {run.attempts})."
            if run.attempts == 1:
                _alert_failure(work, outcome, now=now)
        else:
            run.next_attempt_at, run.performed_at = None, now
            run.delivered_at = now if outcome.delivered else None
        updated.append(run)
        kind = EVENT_KINDS[outcome.status]
        data = {"run": run.pk, "action": run.action, "occurrence": run.occurrence, "text": outcome.text}
        events += [
            new_event(kind, at=now, url=Url(pk=pk), notice=work.notice, data=data) for pk in work.url_ids
        ]
        reasons.append((run.pk, outcome.text[:2000]))
    bulk_set(StepRun, updated, RUN_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {Escalation._meta.db_table} AS e SET reason = v.reason
                FROM unnest(%s::bigint[], %s::text[]) AS v(run_id, reason) WHERE e.run_id = v.run_id""",
            [[run_id for run_id, _ in reasons], [reason for _, reason in reasons]],
        )
    record_events(events)


RUN_FIELDS = ["status", "target", "detail", "last_error", "next_attempt_at", "performed_at", "delivered_at"]


EVENT_KINDS = {
    StepRunStatus.QUEUED: "url.escalated",
    StepRunStatus.DONE: "url.escalated",
    StepRunStatus.SKIPPED: "url.escalation_skipped",
    StepRunStatus.RETRYING: "url.escalation_failed",
}


def retry_wait(attempts: int) -> timedelta:
    """The wait after a run's `attempts`-th failure: ESCALATION_RETRY_BASE × 2ⁿ, at most
    ESCALATION_RETRY_MAX."""
    return min(
        backoff(settings.ESCALATION_RETRY_BASE, attempts), timedelta(seconds=settings.ESCALATION_RETRY_MAX)
    )


def _alert_failure(work: Work, outcome: Outcome, *, now: datetime) -> None:
    raise_alert(
        kind=AlertKind.STEP_FAILED,
        key=f"{AlertKind.STEP_FAILED}:{work.run_id}",
        summary=outcome.text,
        now=now,
        notice=work.notice,
        error=outcome.error,
        mail=True,
    )


def _record_crash(group: Group, exc: Exception, *, now: datetime) -> None:
    """A run whose performing raised: recorded as failed (retried with backoff, alerting the analysts), in a
    transaction of its own. Should even that fail, the cases keep their lease and are taken again after it."""
    try:
        with transaction.atomic():
            run_ids, fresh = _start_runs([group], now=now)
            if id(group) not in fresh:
                return
            _attach([group], run_ids, now=now)
            notice = Notice.objects.select_related("provider").get(pk=group.notice_id)
            work = Work(
                run_ids[id(group)], group.due.rung, group.due.occurrence, notice, sorted(group.url_ids)
            )
            error = f"{exc.__class__.__name__}: {exc}"
            record([work], {work.run_id: failed(f"{sentence(work)} failed: {error}.", error)}, now=now)
    except Exception:
        logger.exception("escalation: recording the failed run for notice %s failed too", group.notice_id)


def _schedule(url_ids: list[int], ladders: dict, *, now: datetime) -> None:
    """Plan the claimed cases again and write each one's next due time (step 4); a case still due (its run
    could not even be recorded) keeps its lease."""
    lease = now + timedelta(seconds=settings.ESCALATION_CLAIM_TIMEOUT)
    nexts, events = {}, []
    for url_id, (case, ladder, planned) in _plans(url_ids, ladders, now=now).items():
        if isinstance(planned, selectors.Stops):  # its clock stands still: nothing until the stop ends
            nexts[url_id] = planned.until
            events.append(_waits(case, planned, now))
            continue
        if planned is not None:
            nexts[url_id] = lease if planned.due else planned.next_at
            if nexts[url_id] is None:
                events.append(_stopped(case, f"the ladder “{ladder.name}” has no step left", now))
            continue
        nexts[url_id] = None
        if case.status == UrlStatus.NOTIFIED:
            why = (
                f"no active escalation policy for {case.notice_type.replace('_', ' ')}s"
                if case.notice_id
                else "the case is in no open notice that went out"
            )
            events.append(_stopped(case, why, now))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {Url._meta.db_table} AS u SET next_escalation_at = v.next_at
                FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, next_at) WHERE u.id = v.id""",
            [list(nexts), list(nexts.values())],
        )
    record_events(events)


def _stopped(case, why: str, now: datetime):
    notice = Notice(pk=case.notice_id) if case.notice_id else None
    return new_event(
        "url.escalation_stopped",
        at=now,
        url=Url(pk=case.url_id),
        notice=notice,
        data={"text": f"Escalation ends: {why}."},
    )


WAITS = {
    "hold": "a law-enforcement hold is in force",
    "need_info": "the provider asked for more information and awaits the analyst's answer",
    "dispute": "the provider disputes the notice and awaits the analyst's answer",
}


def _waits(case, stopped, now: datetime):
    why = " and ".join(WAITS[kind] for kind in stopped.kinds)
    until = f"until {stopped.until:%Y-%m-%d %H:%M} UTC" if stopped.until else "until it ends"
    return new_event(
        "url.escalation_waits",
        at=now,
        url=Url(pk=case.url_id),
        notice=Notice(pk=case.notice_id),
        data={"text": f"Escalation waits, {until}: {why}; the ladder then resumes, shifted by the wait."},
    )
