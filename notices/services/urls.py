"""Recording observations and deciding removal (INTERFACES.md "Definitions").

A URL is checked from its assessment on: before its first notice (so content already gone counts as "gone
before notice", outside TTR statistics), while noticed, and for REAPPEARANCE_WATCH after removal.

Removal is confirmed when K (REMOVAL_CONFIRMATIONS) consecutive counted outcomes are gone, each at least M
(REMOVAL_MIN_SPACING) after the previous counted one, with no live in between. Unknown outcomes never count
and never break a run. The removal interval is [last live, first gone of the run]; TTR bounds are measured
from the first notice sent.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from notices.checks.classify import Outcome
from notices.checks.engine import Observation
from notices.checks.scheduling import cadence, cadence_sql, release_claims
from notices.enums import URL_TRANSITIONS, AlertKind, CheckOutcome, Legality, UrlStatus
from notices.infra import enqueue
from notices.infra.bulk import bulk_set
from notices.infra.events import record_event
from notices.models import Check, Event, RemovalCycle, Url
from notices.selectors.stats import refresh_after_commit
from notices.services.alerts import raise_alert
from notices.services.partner_webhooks import Event as CaseEvent
from notices.services.partner_webhooks import queue_case_event


class TransitionError(ValueError):
    pass


def move(url, status: UrlStatus) -> None:
    """The one place a URL's status changes (on a locked row's state the caller writes), by
    URL_TRANSITIONS."""
    if status not in URL_TRANSITIONS[url.status]:
        raise TransitionError(f"URL {url.pk}: no transition {url.status} → {status}")
    url.status = status


def create_urls(cursor, pairs, now: datetime) -> set[int]:
    """INSERT … ON CONFLICT DO NOTHING for distinct new URLs ((report item, canonical form) pairs), each `new`
    with its site (notices.canonical.site_of) and a `url.created` event. Returns the ids this statement
    created (the others existed)."""
    url_table, event_table = Url._meta.db_table, Event._meta.db_table
    cursor.execute(
        f"""WITH created AS (
                INSERT INTO {url_table} (original, canonical, canonical_hash, host, site, status,
                    first_reported_at, created_at, consecutive_gone, reappearance_count, country_at_notice,
                    notice_type_at_notice, last_outcome, first_gone_vantage)
                SELECT o, c, h, host, site, %(status)s, r, %(now)s, 0, 0, '', '', '', ''
                FROM unnest(%(o)s::text[], %(c)s::text[], %(h)s::bytea[], %(host)s::text[], %(site)s::text[],
                            %(r)s::timestamptz[]) AS v(o, c, h, host, site, r)
                ON CONFLICT (canonical_hash) DO NOTHING
                RETURNING id)
            INSERT INTO {event_table} (kind, at, url_id, actor, data)
            SELECT 'url.created', %(now)s, id, 'system', '{{}}' FROM created RETURNING url_id""",
        {
            "status": UrlStatus.NEW.value,
            "now": now,
            "o": [item.url for item, _ in pairs],
            "c": [canon.canonical for _, canon in pairs],
            "h": [canon.hash for _, canon in pairs],
            "host": [canon.host for _, canon in pairs],
            "site": [canon.site for _, canon in pairs],
            "r": [item.reported_at or now for item, _ in pairs],
        },
    )
    return {row[0] for row in cursor.fetchall()}


def create_staged_urls(cursor, stage: str, now: datetime) -> list[int]:
    """`create_urls` for a batch staged in the temporary table `stage` (notices.services.intake): its rows
    marked `first` (one per canonical URL, in item order `i`) are inserted where new. Returns the ids this
    statement created."""
    url_table, event_table = Url._meta.db_table, Event._meta.db_table
    cursor.execute(
        f"""WITH created AS (
                INSERT INTO {url_table} (original, canonical, canonical_hash, host, site, status,
                    first_reported_at, created_at, consecutive_gone, reappearance_count, country_at_notice,
                    notice_type_at_notice, last_outcome, first_gone_vantage)
                SELECT o, c, h, host, site, %(status)s, r, %(now)s, 0, 0, '', '', '', ''
                FROM {stage} WHERE first ORDER BY i
                ON CONFLICT (canonical_hash) DO NOTHING
                RETURNING id)
            INSERT INTO {event_table} (kind, at, url_id, actor, data)
            SELECT 'url.created', %(now)s, id, 'system', '{{}}' FROM created RETURNING url_id""",
        {"status": UrlStatus.NEW.value, "now": now},
    )
    return [row[0] for row in cursor.fetchall()]


def assess(url: Url, assessment, *, actionable: bool, actor: str, now: datetime) -> None:
    """A new assessment of a locked URL: it becomes current; a new, assessed or not-illegal URL becomes
    assessed (illegal) or not illegal; an illegal one is checked at once if it is not watched yet (content
    gone before any notice is not a removal). Writes `url.assessed`."""
    url.current_assessment = assessment
    url.assessed_at = url.assessed_at or now
    if url.status in {UrlStatus.NEW, UrlStatus.ASSESSED, UrlStatus.NOT_ILLEGAL}:
        move(url, UrlStatus.ASSESSED if actionable else UrlStatus.NOT_ILLEGAL)
    if actionable and url.next_check_at is None and url.status == UrlStatus.ASSESSED:
        url.next_check_at = now
    url.save(update_fields=["current_assessment", "assessed_at", "status", "next_check_at"])
    record_event(
        "url.assessed",
        at=now,
        url=url,
        actor=actor,
        data={"legality": assessment.legality, "classification": assessment.classification},
    )


# --- Closing and reopening a case (an analyst's decision; `notices.services.lifecycle` composes them) ------

# Statuses whose cases are checked (assessed: gone before notice is watched for; noticed: removal).
WATCHED = frozenset({UrlStatus.ASSESSED, UrlStatus.NOTIFIED})


def close(url: Url, *, reason: str, note: str, actor: str, now: datetime, items: Sequence[int]) -> str:
    """Close an open case (a locked `Url`; this writes it): status `closed` with `closed_at`, out of the
    due-check queue (no next check) and no escalation step ahead. A noticed case leaves the time-to-removal
    statistics (the triggers record it; a refresh is queued). Writes `url.closed` with the reason, the note,
    the status it had (which it returns) and the notice items the closing releases (`items`, restored on
    reopening). Raises TransitionError from a status URL_TRANSITIONS does not let close."""
    previous = url.status
    move(url, UrlStatus.CLOSED)
    url.closed_at = now
    url.next_check_at = url.next_escalation_at = None
    url.save(update_fields=["status", "closed_at", "next_check_at", "next_escalation_at"])
    if url.first_notice_sent_at is not None:
        refresh_after_commit()
    data = {"reason": reason, "note": note, "from": previous, "items": list(items)}
    record_event("url.closed", at=now, url=url, actor=actor, data=data)
    queue_case_event(event=CaseEvent.CLOSED, url_ids=[url.pk], at=now)
    return previous


def reopened_status(url: Url) -> UrlStatus:
    """Where a closed case goes back to, by its facts: noticed once a notice reached its provider; else by its
    current assessment (assessed illegal, or not illegal); else new. That is the status it was closed from,
    unless an analyst assessed it while it was closed."""
    if url.first_notice_sent_at is not None:
        return UrlStatus.NOTIFIED
    if url.current_assessment is None:
        return UrlStatus.NEW
    if url.current_assessment.legality == Legality.NOT_ILLEGAL:
        return UrlStatus.NOT_ILLEGAL
    return UrlStatus.ASSESSED


def reopen(url: Url, *, actor: str, now: datetime, escalation_at: datetime | None) -> UrlStatus:
    """Reopen a closed case (a locked `Url`; this writes it) to `reopened_status`, which it returns:
    `closed_at` cleared; an assessed or noticed case is checked at once (it was not watched while closed); a
    noticed one takes up its escalation at `escalation_at` (None: no step until its next notice) and is back
    in the statistics. Writes `url.reopened`. Raises TransitionError unless the case is closed."""
    if url.status != UrlStatus.CLOSED:
        raise TransitionError(f"URL {url.pk}: {url.status}, not closed: nothing to reopen")
    status = reopened_status(url)
    move(url, status)
    url.closed_at = None
    url.next_check_at = now if status in WATCHED else None
    url.next_escalation_at = escalation_at if status == UrlStatus.NOTIFIED else None
    url.save(update_fields=["status", "closed_at", "next_check_at", "next_escalation_at"])
    if url.first_notice_sent_at is not None:
        refresh_after_commit()
    record_event("url.reopened", at=now, url=url, actor=actor, data={"to": status.value})
    return status


def stop_escalation(url_ids: Sequence[int]) -> None:
    """These noticed URLs are in no open notice any more (their notice was withdrawn): no escalation step is
    due for them until a notice is sent again (`stamp_first_notice` schedules the next). Only rows with a
    step ahead are written (and locked)."""
    Url.objects.filter(pk__in=url_ids, next_escalation_at__isnull=False).update(next_escalation_at=None)


def mark_acknowledged(url_ids: Sequence[int], *, at: datetime) -> None:
    """The provider answered a notice of these URLs: the first answer's time is their acknowledgement."""
    Url.objects.filter(pk__in=url_ids, acknowledged_at__isnull=True).update(acknowledged_at=at)


def check_now(url_ids: Sequence[int], *, now: datetime, confirmed_too: bool = False) -> None:
    """Make these URLs due and queue their check after commit: the provider says removed (a removal already
    confirmed keeps its time), or an analyst asked (`confirmed_too`: a removed URL under watch is checked
    too). A closed case is never checked."""
    urls = Url.objects.filter(pk__in=url_ids).exclude(status=UrlStatus.CLOSED)
    (urls if confirmed_too else urls.filter(removal_confirmed_at__isnull=True)).update(next_check_at=now)
    enqueue.after_commit(enqueue.CHECK_URLS_NOW, list(url_ids))


def apply_observations(
    observations: Sequence[Observation],
    *,
    now: datetime,
    on_closed: Callable[[int, datetime], None],
    set_based: bool = True,
) -> int:
    """Store observations in bulk and apply each to its URL's removal state. Returns removals confirmed.

    Side effects: one Check row per observation (status, final URL, error class, timing, IP — never a body);
    URL fields last_live_at / first_gone_at / consecutive_gone / next_check_at; on confirmation the removal
    interval, TTR bounds, status `removed` (or `gone_before_notice`), closed notice items and an event; a
    removed URL seen live again is reopened for a new notice cycle (`url.reappeared`, the finished cycle kept
    as a RemovalCycle); an address the last trace did not list queues a re-trace (which records the hop).

    The Check rows and the commonest observation — content still live on an assessed or noticed URL — are
    written by one statement in PostgreSQL (`_insert_and_record_live`); everything else goes through the rules
    below, URL by URL. `set_based=False` sends every observation through the rules: the reference the
    set-based path is tested against. `on_closed(url_id, at)` is called where a URL's case closes (removed, or
    gone before notice), before its event: the notices' owner closes their items (`notices.services.checking`
    passes it).
    """
    if not observations:
        return 0
    removals = 0
    with transaction.atomic():
        done = _insert_and_record_live(observations, set_based=set_based)
        rest = [obs for obs in observations if obs.key not in done]
        urls = _lock_states([o.key for o in rest]) if rest else {}
        loaded = {pk: dict(state.__dict__) for pk, state in urls.items()}
        for obs in sorted(rest, key=lambda o: o.checked_at):
            url = urls.get(obs.key)
            if url is not None and (url.last_checked_at is None or obs.checked_at >= url.last_checked_at):
                removals += _apply(url, obs, now, on_closed)
        _write_changes(urls, loaded)
        if _changes_statistics(urls, loaded):
            refresh_after_commit()
        release_claims(sorted({obs.key for obs in observations}))
        _retrace_moved(urls, rest)
    return removals


def _insert_and_record_live(observations: Sequence[Observation], *, set_based: bool) -> set[int]:
    """One statement: insert a Check row per observation and apply each live observation that is its URL's
    only one in the batch, on a URL that is assessed or noticed and not already checked later — the same
    result as `_apply` → `_on_live` (live time, gone run cleared, next check by the cadence). Returns the URLs
    so done and queues re-traces for the ones that answered from an address their trace does not list.

    The rows travel as one JSON parameter: the driver adapting ten Python lists element by element cost more
    than the statement itself.
    """
    counts = Counter(obs.key for obs in observations)
    live, epoch, microsecond = Outcome.LIVE, datetime(1970, 1, 1, tzinfo=UTC), timedelta(microseconds=1)
    rows = json.dumps(
        [
            # Times as whole microseconds since the epoch (exact, and cheaper than isoformat); the outcome is
            # a StrEnum, which JSON writes as its value.
            [
                obs.key,
                (obs.checked_at - epoch) // microsecond,
                obs.outcome,
                obs.status_code,
                obs.final_url[:2000],
                obs.error_class,
                obs.resolved_ip,
                obs.elapsed_ms,
                obs.redirects,
                obs.vantage,
                set_based and obs.outcome is live and counts[obs.key] == 1,
            ]
            for obs in observations
        ]
    )
    trace = Url._meta.get_field("current_trace").related_model._meta.db_table
    routine, params = cadence_sql(first_notice="u.first_notice_sent_at", at="o.checked_at")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH o AS MATERIALIZED (
                    SELECT (e->>0)::bigint AS url_id,
                           to_timestamp(0) + (e->>1)::bigint * interval '1 microsecond' AS checked_at,
                           e->>2 AS outcome,
                           (e->>3)::int AS status_code, e->>4 AS final_url, e->>5 AS error_class, e->>6 AS ip,
                           (e->>7)::int AS elapsed_ms, (e->>8)::int AS redirects, e->>9 AS vantage,
                           (e->>10)::boolean AS single_live
                    FROM json_array_elements(%(rows)s::json) AS e),
                inserted AS (
                    INSERT INTO {Check._meta.db_table} (url_id, checked_at, outcome, status_code, final_url,
                        error_class, resolved_ip, elapsed_ms, redirects, vantage)
                    SELECT url_id, checked_at, outcome, status_code, final_url, error_class,
                           nullif(ip, '')::inet, elapsed_ms, redirects, vantage FROM o),
                updated AS (
                    UPDATE {Url._meta.db_table} AS u
                    SET last_live_at = o.checked_at, first_gone_at = NULL, last_gone_at = NULL,
                        first_gone_vantage = '', consecutive_gone = 0, last_checked_at = o.checked_at,
                        last_outcome = 'live',
                        next_check_at = o.checked_at + CASE
                            WHEN u.status = 'assessed' THEN %(before_notice)s ELSE {routine} END
                    FROM o
                    WHERE o.single_live AND u.id = o.url_id AND u.status IN ('assessed', 'notified')
                          AND (u.last_checked_at IS NULL OR o.checked_at >= u.last_checked_at)
                    RETURNING u.id, u.current_trace_id, o.ip)
                SELECT d.id, t.ips IS NOT NULL AND d.ip <> '' AND NOT (t.ips ? d.ip)
                FROM updated AS d LEFT JOIN {trace} AS t ON t.id = d.current_trace_id""",
            {
                "rows": rows,
                "before_notice": timedelta(seconds=settings.CHECK_INTERVAL_BEFORE_NOTICE),
                **params,
            },
        )
        done = cursor.fetchall()
    _queue_retraces(url_id for url_id, moved in done if moved)
    return {url_id for url_id, _ in done}


UPDATE_FIELDS = [
    "status",
    "last_live_at",
    "first_gone_at",
    "last_gone_at",
    "first_gone_vantage",
    "consecutive_gone",
    "removal_confirmed_at",
    "removed_low",
    "removed_high",
    "ttr_low",
    "ttr_high",
    "reappearance_count",
    "next_check_at",
    "last_checked_at",
    "last_outcome",
    "first_notice_sent_at",
    "provider_at_notice",
    "asn_at_notice",
    "country_at_notice",
    "notice_type_at_notice",
    "next_escalation_at",
]
_ATTNAMES = tuple(Url._meta.get_field(name).attname for name in UPDATE_FIELDS)


class UrlState:
    """The columns of one URL that recording reads and writes, under Url's attribute names (so `bulk_set`
    writes them back), plus its provider's 401/403 policy and its current trace's addresses.

    Not model instances: building 5,000 Url objects per batch cost more than the checks. Filled from a row in
    one step (`__dict__` from the column names).
    """

    NAMES = ("id", *_ATTNAMES, "blocked_counts_as_gone", "trace_ips")

    @property
    def pk(self) -> int:
        return self.id

    def as_url(self) -> Url:
        """A reference for foreign keys (events, notice items, cycles): only the primary key is set."""
        return Url(pk=self.id)


def _lock_states(url_ids: list[int]) -> dict[int, UrlState]:
    """One `SELECT … FOR UPDATE OF u` for the batch's URLs (locks them against concurrent writers)."""
    columns = ", ".join(f"u.{Url._meta.get_field(name).column}" for name in UPDATE_FIELDS)
    provider, trace = Url._meta.get_field("provider"), Url._meta.get_field("current_trace")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT u.id, {columns}, p.blocked_counts_as_gone, t.ips
                FROM {Url._meta.db_table} AS u
                LEFT JOIN {provider.related_model._meta.db_table} AS p ON p.id = u.{provider.column}
                LEFT JOIN {trace.related_model._meta.db_table} AS t ON t.id = u.{trace.column}
                WHERE u.id = ANY(%s) FOR UPDATE OF u""",
            [url_ids],
        )
        rows = cursor.fetchall()
    states = {}
    for row in rows:
        state = UrlState()
        state.__dict__ = dict(zip(UrlState.NAMES, row, strict=True))
        if isinstance(state.trace_ips, str):  # jsonb arrives as text
            state.trace_ips = json.loads(state.trace_ips)
        states[state.id] = state
    return states


def _write_changes(urls: dict[int, UrlState], loaded: dict[int, dict]) -> None:
    """One UPDATE for the URLs that changed, of only the columns that changed in any of them (usually the four
    a live check moves: last live, last checked, outcome, next check)."""
    changed_urls, changed_attnames = [], set()
    for pk, state in urls.items():
        before = loaded[pk]
        changed = {name for name, value in state.__dict__.items() if before[name] != value}
        if changed:
            changed_urls.append(state)
            changed_attnames |= changed
    fields = [
        name for name, attname in zip(UPDATE_FIELDS, _ATTNAMES, strict=True) if attname in changed_attnames
    ]
    bulk_set(Url, changed_urls, fields)


def _changes_statistics(urls: dict[int, UrlState], loaded: dict[int, dict]) -> bool:
    """Whether the batch confirmed a removal, reopened a removed case or took a noticed case out of the
    statistics (gone before notice): once per batch, however many URLs did."""
    return any(
        loaded[pk]["status"] != state.status and loaded[pk]["first_notice_sent_at"] is not None
        for pk, state in urls.items()
    )


def _retrace_moved(urls: dict[int, UrlState], observations: Sequence[Observation]) -> None:
    """A URL answering from an address its current trace does not list has moved: re-trace it (after
    commit)."""
    _queue_retraces(
        {
            obs.key
            for obs in observations
            if obs.resolved_ip
            and (url := urls.get(obs.key))
            and url.trace_ips is not None
            and obs.resolved_ip not in url.trace_ips
        }
    )


def _queue_retraces(url_ids: Iterable[int]) -> None:

    for url_id in sorted(set(url_ids)):
        enqueue.after_commit(enqueue.TRACE_URL, url_id)


def effective_outcome(url: UrlState, obs: Observation) -> str:
    """401/403 count as gone only where the provider's policy says so; otherwise unknown."""
    if obs.outcome == CheckOutcome.BLOCKED:
        return CheckOutcome.GONE if url.blocked_counts_as_gone else CheckOutcome.UNKNOWN
    return obs.outcome.value


def _apply(url: UrlState, obs: Observation, now: datetime, on_closed) -> int:
    outcome = effective_outcome(url, obs)
    url.last_checked_at = obs.checked_at
    url.last_outcome = obs.outcome.value
    confirmed = 0
    if outcome == CheckOutcome.LIVE:
        _on_live(url, obs)
    elif outcome == CheckOutcome.GONE:
        confirmed = _on_gone(url, obs, on_closed)
    url.next_check_at = _next_check(url, obs.checked_at)
    return confirmed


def _on_live(url: UrlState, obs: Observation) -> None:
    url.last_live_at = obs.checked_at
    url.first_gone_at = url.last_gone_at = None
    url.first_gone_vantage = ""
    url.consecutive_gone = 0
    if url.status == UrlStatus.REMOVED:
        _reopen(url, obs.checked_at)


def _reopen(url: UrlState, at: datetime) -> None:
    """The content is back: keep the finished cycle for statistics and start a new notice cycle.

    The URL returns to `assessed` (awaiting a new notice); its cycle fields are cleared so the next notice
    sent starts a fresh time-to-removal. The reappearance counts against the provider of the finished cycle,
    and puts the case in the analysts' alert queue.
    """
    RemovalCycle.objects.create(
        url_id=url.pk,
        provider_at_notice_id=url.provider_at_notice_id,
        asn_at_notice=url.asn_at_notice,
        country_at_notice=url.country_at_notice,
        notice_type_at_notice=url.notice_type_at_notice,
        first_notice_sent_at=url.first_notice_sent_at,
        removal_confirmed_at=url.removal_confirmed_at,
        removed_low=url.removed_low,
        removed_high=url.removed_high,
        ttr_low=url.ttr_low,
        ttr_high=url.ttr_high,
        reappeared_at=at,
    )
    previous = {
        "removed_low": str(url.removed_low),
        "removed_high": str(url.removed_high),
        "ttr_low": url.ttr_low,
        "ttr_high": url.ttr_high,
    }
    previous_provider = url.provider_at_notice_id
    move(url, UrlStatus.ASSESSED)
    url.reappearance_count += 1
    url.removal_confirmed_at = url.removed_low = url.removed_high = url.first_notice_sent_at = None
    url.ttr_low = url.ttr_high = url.asn_at_notice = url.provider_at_notice_id = None
    url.country_at_notice = url.notice_type_at_notice = ""
    record_event("url.reappeared", at=at, url=url.as_url(), data=previous)
    raise_alert(
        kind=AlertKind.REAPPEARED,
        key=f"{AlertKind.REAPPEARED}:{url.pk}:{url.reappearance_count}",
        summary=f"URL {url.pk} is back after its removal (reappearance {url.reappearance_count}): "
        "it needs a new notice.",
        now=at,
        url=url.as_url(),
        provider_id=previous_provider,
    )


def _on_gone(url: UrlState, obs: Observation, on_closed) -> int:
    """Count this gone toward the run if it is at least M after the last counted one; confirm at K.

    Where several vantage points are configured, the confirming observation must come from another vantage
    point than the run's first gone (cloaking and geo-blocking must not fake a removal).
    """
    spacing = timedelta(seconds=settings.REMOVAL_MIN_SPACING)
    if url.consecutive_gone == 0:
        url.first_gone_at = url.last_gone_at = obs.checked_at
        url.first_gone_vantage = obs.vantage
        url.consecutive_gone = 1
    elif obs.checked_at - url.last_gone_at >= spacing and _may_count(url, obs):
        url.last_gone_at = obs.checked_at
        url.consecutive_gone += 1
    if url.consecutive_gone < settings.REMOVAL_CONFIRMATIONS:
        return 0
    if url.status == UrlStatus.NOTIFIED:
        _confirm_removal(url, obs.checked_at, on_closed)
        return 1
    if url.status == UrlStatus.ASSESSED:
        _gone_before_notice(url, obs.checked_at, on_closed)
    return 0


def _may_count(url: UrlState, obs: Observation) -> bool:
    """The K-th gone needs a second vantage point when more than one is configured."""
    completes_run = url.consecutive_gone + 1 >= settings.REMOVAL_CONFIRMATIONS
    several = len(settings.CHECKER_VANTAGE_POINTS) > 1
    return not (completes_run and several and obs.vantage == url.first_gone_vantage)


def _confirm_removal(url: UrlState, at: datetime, on_closed) -> None:
    """[last live, first gone] becomes the removal interval; TTR is measured from the first notice sent.

    With no live observation since the notice, the notice time itself is the lower bound (the content was
    assessed live when the notice went out), so ttr_low is 0. A run that began before the notice was sent
    means the content was gone before the notice: that is not a time to removal.
    """
    sent = url.first_notice_sent_at
    if sent is None or url.first_gone_at < sent:
        _gone_before_notice(url, at, on_closed)
        return
    low = url.last_live_at if url.last_live_at and url.last_live_at >= sent else sent
    move(url, UrlStatus.REMOVED)
    url.next_escalation_at = None
    url.removal_confirmed_at = at
    url.removed_low, url.removed_high = low, url.first_gone_at
    url.ttr_low = int((low - sent).total_seconds())
    url.ttr_high = int((url.first_gone_at - sent).total_seconds())
    on_closed(url.id, at)
    queue_case_event(event=CaseEvent.REMOVED, url_ids=[url.id], at=at)
    record_event(
        "url.removed",
        at=at,
        url=url.as_url(),
        data={
            "removed_low": low.isoformat(),
            "removed_high": url.first_gone_at.isoformat(),
            "ttr_low": url.ttr_low,
            "ttr_high": url.ttr_high,
        },
    )


def _gone_before_notice(url: UrlState, at: datetime, on_closed) -> None:
    move(url, UrlStatus.GONE_BEFORE_NOTICE)
    url.next_escalation_at = None
    url.removal_confirmed_at = at
    url.removed_high = url.first_gone_at
    on_closed(url.id, at)
    record_event(
        "url.gone_before_notice", at=at, url=url.as_url(), data={"first_gone": url.first_gone_at.isoformat()}
    )


def _next_check(url: UrlState, checked_at: datetime) -> datetime | None:
    if url.status == UrlStatus.REMOVED:
        watch_end = url.removal_confirmed_at + timedelta(seconds=settings.REAPPEARANCE_WATCH)
        following = checked_at + timedelta(seconds=settings.CHECK_INTERVAL_AFTER_REMOVAL)
        return following if following <= watch_end else None
    if url.status == UrlStatus.ASSESSED:
        routine = checked_at + timedelta(seconds=settings.CHECK_INTERVAL_BEFORE_NOTICE)
    elif url.status == UrlStatus.NOTIFIED:
        routine = checked_at + cadence(first_notice_sent_at=url.first_notice_sent_at, now=checked_at)
    else:
        return None
    if url.consecutive_gone:
        return min(routine, url.last_gone_at + timedelta(seconds=settings.REMOVAL_MIN_SPACING))
    return routine


# --- Notices sent: the first-notice stamp (marking notices sent and hand-offs use it) -----------------------


@dataclass
class UrlStamp:
    """What marking a notice sent reads and writes of one of its URLs (`STAMP_FIELDS`), with its trace's ASN
    and country (None without a trace)."""

    pk: int
    status: str
    next_check_at: datetime | None
    next_escalation_at: datetime | None
    first_notice_sent_at: datetime | None
    provider_at_notice_id: int | None
    asn_at_notice: int | None
    country_at_notice: str
    notice_type_at_notice: str
    trace_asn: int | None
    trace_country: str | None


def stamp_first_notice(
    url,
    *,
    provider_id: int | None,
    asn: int | None,
    country: str,
    notice_type: str,
    deadline_at,
    at: datetime,
) -> None:
    """The URL's case reached its provider (a notice sent) or a partner (a hand-off): the first time stamps
    the notice fields the statistics count it under; an assessed or noticed URL becomes `notified`, is checked
    at once and, for a notice (`deadline_at`), is due for the escalation sweep to plan its ladder. `url` is a
    `UrlStamp` or a locked `Url`; the caller writes it."""
    if url.first_notice_sent_at is None:
        url.first_notice_sent_at = at
        url.provider_at_notice_id = provider_id
        url.asn_at_notice = asn
        url.country_at_notice = country
        url.notice_type_at_notice = notice_type
    if url.status in {UrlStatus.ASSESSED, UrlStatus.NOTIFIED}:  # a removed URL stays removed
        move(url, UrlStatus.NOTIFIED)
        url.next_check_at = at
        if deadline_at is not None:  # a notice went out (a hand-off has no ladder): the sweep plans it now
            url.next_escalation_at = min(url.next_escalation_at or at, at)


STAMP_FIELDS = [
    "status",
    "next_check_at",
    "next_escalation_at",
    "first_notice_sent_at",
    "provider_at_notice_id",
    "asn_at_notice",
    "country_at_notice",
    "notice_type_at_notice",
]


def write_stamps(cursor, urls: list[UrlStamp]) -> None:
    """Write the stamped fields of many URLs in one UPDATE (their rows are locked by the caller)."""
    types = ["text", "timestamptz", "timestamptz", "timestamptz", "bigint", "bigint", "text", "text"]
    columns = ", ".join(f"{name} = v.{name}" for name in STAMP_FIELDS)
    arrays = ", ".join(f"%s::{kind}[]" for kind in ["bigint", *types])
    cursor.execute(
        f"""UPDATE {Url._meta.db_table} AS u SET {columns}
            FROM unnest({arrays}) AS v(id, {", ".join(STAMP_FIELDS)}) WHERE u.id = v.id""",
        [[u.pk for u in urls], *([getattr(u, name) for u in urls] for name in STAMP_FIELDS)],
    )


def restart_cycle(url: Url) -> None:
    """The case's content moved to another provider (a hop): it goes back to `assessed` for a new notice
    cycle, and its first-notice fields are cleared, so the old provider's time stays out of the statistics
    (notices/services/hops.py). Refreshes `url`."""
    Url.objects.filter(pk=url.pk).update(
        status=UrlStatus.ASSESSED,
        first_notice_sent_at=None,
        provider_at_notice=None,
        asn_at_notice=None,
        country_at_notice="",
        notice_type_at_notice="",
        next_escalation_at=None,
    )
    url.refresh_from_db()
