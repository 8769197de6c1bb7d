"""Recording observations and deciding removal (INTERFACES.md "Definitions").

Removal is confirmed when K (REMOVAL_CONFIRMATIONS) consecutive counted outcomes are gone, each at least M
(REMOVAL_MIN_SPACING) after the previous counted one, with no live in between. Unknown outcomes never count
and never break a run. The removal interval is [last live, first gone of the run]; TTR bounds are measured
from the first notice sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from notices.checks.engine import Observation
from notices.checks.scheduling import cadence
from notices.enums import CheckOutcome, UrlStatus
from notices.models import Check, Url
from notices.services.events import record_event
from notices.services.notices import close_item_removed


def record_observations(observations: Sequence[Observation], *, now: datetime) -> int:
    """Store observations in bulk and apply each to its URL's removal state. Returns removals confirmed.

    Side effects: one Check row per observation (status, final URL, error class, timing, IP — never a body);
    URL fields last_live_at / first_gone_at / consecutive_gone / next_check_at; on confirmation the removal
    interval, TTR bounds, status `removed`, closed notice items and a `url.removed` event; a removed URL seen
    live again is reopened (`url.reappeared`).
    """
    if not observations:
        return 0
    removals = 0
    with transaction.atomic():
        Check.objects.bulk_create([_check_row(obs) for obs in observations], batch_size=1000)
        urls = (
            Url.objects.select_for_update(of=("self",))
            .select_related("provider")
            .in_bulk([o.key for o in observations])
        )
        for obs in sorted(observations, key=lambda o: o.checked_at):
            url = urls.get(obs.key)
            if url is not None:
                removals += _apply(url, obs, now)
        Url.objects.bulk_update(list(urls.values()), UPDATE_FIELDS, batch_size=500)
    return removals


UPDATE_FIELDS = [
    "status", "last_live_at", "first_gone_at", "last_gone_at", "consecutive_gone", "removal_confirmed_at",
    "removed_low", "removed_high", "ttr_low", "ttr_high", "reappearance_count", "next_check_at",
    "check_claimed_until", "last_checked_at", "last_outcome",
]  # fmt: skip


def _check_row(obs: Observation) -> Check:
    return Check(
        url_id=obs.key,
        checked_at=obs.checked_at,
        outcome=obs.outcome.value,
        status_code=obs.status_code,
        final_url=obs.final_url[:2000],
        error_class=obs.error_class,
        resolved_ip=obs.resolved_ip or None,
        elapsed_ms=obs.elapsed_ms,
        redirects=obs.redirects,
        vantage=obs.vantage,
    )


def effective_outcome(url: Url, obs: Observation) -> str:
    """401/403 count as gone only where the provider's policy says so; otherwise unknown."""
    if obs.outcome == CheckOutcome.BLOCKED:
        return (
            CheckOutcome.GONE
            if url.provider and url.provider.blocked_counts_as_gone
            else CheckOutcome.UNKNOWN
        )
    return obs.outcome.value


def _apply(url: Url, obs: Observation, now: datetime) -> int:
    outcome = effective_outcome(url, obs)
    url.last_checked_at = obs.checked_at
    url.last_outcome = obs.outcome.value
    url.check_claimed_until = None
    confirmed = 0
    if outcome == CheckOutcome.LIVE:
        _on_live(url, obs)
    elif outcome == CheckOutcome.GONE:
        confirmed = _on_gone(url, obs)
    url.next_check_at = _next_check(url, obs.checked_at)
    return confirmed


def _on_live(url: Url, obs: Observation) -> None:
    url.last_live_at = obs.checked_at
    url.first_gone_at = url.last_gone_at = None
    url.consecutive_gone = 0
    if url.status == UrlStatus.REMOVED:
        url.status = UrlStatus.NOTIFIED
        url.reappearance_count += 1
        previous = {"removed_low": str(url.removed_low), "removed_high": str(url.removed_high)}
        url.removal_confirmed_at = url.removed_low = url.removed_high = None
        url.ttr_low = url.ttr_high = None
        record_event("url.reappeared", at=obs.checked_at, url=url, data=previous)


def _on_gone(url: Url, obs: Observation) -> int:
    spacing = timedelta(seconds=settings.REMOVAL_MIN_SPACING)
    if url.consecutive_gone == 0:
        url.first_gone_at = url.last_gone_at = obs.checked_at
        url.consecutive_gone = 1
    elif obs.checked_at - url.last_gone_at >= spacing:
        url.last_gone_at = obs.checked_at
        url.consecutive_gone += 1
    if url.status == UrlStatus.NOTIFIED and url.consecutive_gone >= settings.REMOVAL_CONFIRMATIONS:
        _confirm_removal(url, obs.checked_at)
        return 1
    return 0


def _confirm_removal(url: Url, at: datetime) -> None:
    """[last live, first gone] becomes the removal interval; TTR is measured from the first notice sent.

    With no live observation since the notice, the notice time itself is the lower bound (the content was
    assessed live when the notice went out), so ttr_low is 0.
    """
    sent = url.first_notice_sent_at
    low = url.last_live_at if url.last_live_at and sent and url.last_live_at >= sent else sent
    url.status = UrlStatus.REMOVED
    url.removal_confirmed_at = at
    url.removed_low, url.removed_high = low, url.first_gone_at
    url.ttr_low = int((low - sent).total_seconds()) if sent else None
    url.ttr_high = int((url.first_gone_at - sent).total_seconds()) if sent else None
    close_item_removed(url=url, at=at)
    record_event(
        "url.removed",
        at=at,
        url=url,
        data={"removed_low": low.isoformat(), "removed_high": url.first_gone_at.isoformat(),
              "ttr_low": url.ttr_low, "ttr_high": url.ttr_high},
    )  # fmt: skip


def _next_check(url: Url, checked_at: datetime) -> datetime | None:
    if url.status == UrlStatus.REMOVED:
        watch_end = url.removal_confirmed_at + timedelta(seconds=settings.REAPPEARANCE_WATCH)
        following = checked_at + timedelta(seconds=settings.CHECK_INTERVAL_AFTER_REMOVAL)
        return following if following <= watch_end else None
    if url.status != UrlStatus.NOTIFIED:
        return None
    routine = checked_at + cadence(first_notice_sent_at=url.first_notice_sent_at, now=checked_at)
    if url.consecutive_gone:
        return min(routine, url.last_gone_at + timedelta(seconds=settings.REMOVAL_MIN_SPACING))
    return routine
