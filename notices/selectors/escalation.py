"""Reads of the escalation engine: the active ladders, the state of claimed cases, the runs they took.

A sweep reads a batch of cases in three plain queries, however large the batch: the ladders (all active
policies with their steps), the cases with the notice each follows, and the runs those cases took in that
notice cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from notices.enums import NoticeStatus
from notices.models import (
    ClockStop,
    Escalation,
    EscalationPolicy,
    EscalationStep,
    Notice,
    NoticeItem,
    StepRun,
    Url,
)
from notices.selectors.ladder import Rung, Taken

# Notices whose provider was told and that are still open: the ones a ladder follows. A draft (no deadline
# yet, never seen by the provider), a withdrawn or closed notice is never escalated.
FOLLOWED_NOTICE_STATES = (NoticeStatus.SENT, NoticeStatus.ACKNOWLEDGED, NoticeStatus.DISPUTED)


@dataclass(frozen=True)
class Ladder:
    policy_id: int
    name: str
    rungs: list[Rung]


def active_ladders() -> dict[tuple[str, int | None], Ladder]:
    """Every active policy's ladder by (notice type, provider id or None for the type's default)."""
    ladders: dict[tuple[str, int | None], Ladder] = {}
    steps: dict[int, list[Rung]] = {}
    for step in EscalationStep.objects.filter(policy__active=True).order_by("position"):
        steps.setdefault(step.policy_id, []).append(
            Rung(
                step.pk,
                step.position,
                step.action,
                step.anchor,
                step.delay,
                step.repeat_every,
                step.repeat_times,
            )
        )
    for policy in EscalationPolicy.objects.filter(active=True):
        ladders[(policy.notice_type, policy.provider_id)] = Ladder(
            policy.pk, policy.name, steps.get(policy.pk, [])
        )
    return ladders


def ladder_for(ladders: dict, notice_type: str, provider_id: int) -> Ladder | None:
    """The provider's own ladder for the notice type, else the type's default (None: no policy)."""
    return ladders.get((notice_type, provider_id)) or ladders.get((notice_type, None))


@dataclass(frozen=True)
class Case:
    """A claimed case and the notice its ladder follows (notice fields None: it follows none)."""

    url_id: int
    status: str
    notice_id: int | None
    notice_type: str | None
    provider_id: int | None
    sent_at: datetime | None
    deadline_at: datetime | None


def cases(url_ids: list[int]) -> list[Case]:
    """The cases with each one's newest open notice that went out (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT u.id, u.status, n.id, n.notice_type, n.provider_id, n.sent_at, n.deadline_at
                FROM {Url._meta.db_table} AS u
                LEFT JOIN LATERAL (
                    SELECT n.id, n.notice_type, n.provider_id, n.sent_at, n.deadline_at
                    FROM {NoticeItem._meta.db_table} AS i
                    JOIN {Notice._meta.db_table} AS n ON n.id = i.notice_id
                    WHERE i.url_id = u.id AND i.is_open AND n.sent_at IS NOT NULL
                          AND n.status = ANY(%s)
                    ORDER BY n.id DESC LIMIT 1) AS n ON TRUE
                WHERE u.id = ANY(%s) ORDER BY u.id""",
            [[str(s) for s in FOLLOWED_NOTICE_STATES], list(url_ids)],
        )
        return [Case(*row) for row in cursor.fetchall()]


def taken(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], list[Taken]]:
    """The runs each (URL, notice) took, by that pair (one query)."""
    found: dict[tuple[int, int], list[Taken]] = {pair: [] for pair in pairs}
    if not pairs:
        return found
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT e.url_id, e.notice_id, r.id, r.step_id, r.occurrence, r.status, r.performed_at,
                       r.next_attempt_at
                FROM unnest(%s::bigint[], %s::bigint[]) AS p(url_id, notice_id)
                JOIN {Escalation._meta.db_table} AS e ON e.url_id = p.url_id AND e.notice_id = p.notice_id
                JOIN {StepRun._meta.db_table} AS r ON r.id = e.run_id
                WHERE r.step_id IS NOT NULL""",
            [[url for url, _ in pairs], [notice for _, notice in pairs]],
        )
        for url_id, notice_id, *run in cursor.fetchall():
            found[(url_id, notice_id)].append(Taken(*run))
    return found


@dataclass(frozen=True)
class Stops:
    """A case's clock stops in its notice cycle: the ended ones as (start, end), and the one in force now
    (the latest end of those still lasting: None when one has no end in sight)."""

    ended: list[tuple[datetime, datetime]]
    in_force: bool = False
    until: datetime | None = None
    kinds: tuple[str, ...] = ()


def stops(url_ids: list[int], *, now: datetime) -> dict[int, Stops]:
    """The clock stops (holds and pauses) of these cases, by URL id (one query)."""
    rows: dict[int, list[tuple[str, datetime, datetime | None]]] = {}
    for url_id, kind, started_at, ended_at, expires_at in ClockStop.objects.filter(
        url_id__in=url_ids
    ).values_list("url_id", "kind", "started_at", "ended_at", "expires_at"):
        ends = [t for t in (ended_at, expires_at) if t is not None]
        rows.setdefault(url_id, []).append((kind, started_at, min(ends, default=None)))
    found = {}
    for url_id, stretches in rows.items():
        lasting = [
            (kind, end) for kind, start, end in stretches if start <= now and (end is None or end > now)
        ]
        ends = [end for _kind, end in lasting]
        found[url_id] = Stops(
            ended=[(start, end) for _kind, start, end in stretches if end is not None and end <= now],
            in_force=bool(lasting),
            until=None if not lasting or None in ends else max(ends),
            kinds=tuple(sorted({kind for kind, _end in lasting})),
        )
    return found
