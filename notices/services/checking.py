"""Checking a claimed batch while recording what is already known: the network and the database overlap.

The event loop checks (notices/checks/engine.py); every RECORD_CHUNK observations go to one writer thread that
records them (notices/services/urls.py) on its own database connection, in order, while checks go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone

from notices.checks.engine import CheckConfig, CheckTarget, Observation, check_each
from notices.checks.scheduling import claim_due
from notices.infra import metrics
from notices.models import HostingProvider, Url
from notices.services.notices import close_item_removed
from notices.services.urls import apply_observations

RECORD_CHUNK = 250

logger = logging.getLogger(__name__)


def record_observations(observations: Sequence[Observation], *, now: datetime, set_based: bool = True) -> int:
    """Record a batch of observations on their URLs (`notices.services.urls.apply_observations`, the URLs'
    owner) and close the notice items of every case that closed (`close_item_removed`, the notices' owner).
    Returns removals confirmed."""

    def on_closed(url_id: int, at: datetime) -> None:
        close_item_removed(url=Url(pk=url_id), at=at)

    return apply_observations(observations, now=now, set_based=set_based, on_closed=on_closed)


def _close_connection() -> None:
    """Runs in the writer thread: `connection` resolves to that thread's own connection there."""
    connection.close()


def _record(chunk: list[Observation]) -> int:
    removals = record_observations(chunk, now=timezone.now())
    metrics.count_checks(observation.outcome for observation in chunk)  # once stored (README "Metrics")
    return removals


def check_and_record(batches: Iterable[tuple[CheckConfig, list[CheckTarget]]]) -> tuple[int, int]:
    """Check every (config, targets) batch and record all observations. Returns (checked, removals).

    An error while recording is raised after the checks end (the claims then expire and come back).
    """
    pending: list[Observation] = []
    futures: list[Future] = []
    checked = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="record-checks") as writer:

        def on_result(observation: Observation) -> None:
            pending.append(observation)
            if len(pending) >= RECORD_CHUNK:
                futures.append(writer.submit(_record, pending.copy()))
                pending.clear()

        try:
            for config, targets in batches:
                checked += asyncio.run(check_each(targets, config, on_result))
            if pending:
                futures.append(writer.submit(_record, pending.copy()))
            removals = sum(future.result() for future in futures)
        finally:
            writer.submit(_close_connection).result()
    return checked, removals


def checker_config(**overrides):
    values = {
        "user_agent": settings.CHECKER_USER_AGENT,
        "connect_timeout": settings.CHECKER_CONNECT_TIMEOUT,
        "read_timeout": settings.CHECKER_READ_TIMEOUT,
        "total_timeout": settings.CHECKER_TOTAL_TIMEOUT,
        "max_bytes": settings.CHECKER_MAX_BYTES,
        "max_redirects": settings.CHECKER_MAX_REDIRECTS,
        "concurrency": settings.CHECKER_CONCURRENCY,
        "per_host": settings.CHECKER_PER_HOST,
        "per_host_per_minute": settings.CHECKER_PER_HOST_PER_MINUTE,
        "resolver": settings.DNS_RESOLVER,
        "dns_timeout": settings.DNS_TIMEOUT,
        "allow_private": settings.CHECKER_ALLOW_PRIVATE_TARGETS,
        "connect_to": settings.CHECKER_CONNECT_TO,
    }
    values.update(overrides)
    return CheckConfig(**values)


def run_checks(*, now, limit: int, url_ids: list[int] | None = None, on_full_batch=None) -> int:
    """Claim due URLs, check them concurrently, record the observations in bulk. Returns URLs checked.

    `on_full_batch` is called when the claim came back full (more is probably due), before checking, so
    another worker can start on the next batch meanwhile.
    """
    claimed = claim_due(now=now, limit=limit, url_ids=url_ids)
    if not claimed:
        return 0
    if on_full_batch is not None and len(claimed) == limit:
        on_full_batch()
    rules = _removed_page_rules(HostingProvider, {c.provider_id for c in claimed})
    batches = [
        (
            checker_config(proxy="" if vantage == "direct" else vantage),
            [
                CheckTarget(key=c.url_id, url=c.canonical, removed_page_rules=rules.get(c.provider_id, ()))
                for c in group
            ],
        )
        for vantage, group in _by_vantage(claimed).items()
    ]
    checked, removals = check_and_record(batches)
    logger.info("checked %d urls, %d removals confirmed", checked, removals)
    return checked


def _by_vantage(claimed) -> dict[str, list]:
    """Spread checks over the configured vantage points; a URL in a gone run goes to another vantage point
    than its first gone, so the confirmation comes from a second network."""
    vantages = settings.CHECKER_VANTAGE_POINTS or ["direct"]
    groups: dict[str, list] = {}
    for claim in claimed:
        choices = [v for v in vantages if v != claim.first_gone_vantage] or vantages
        groups.setdefault(choices[claim.url_id % len(choices)], []).append(claim)
    return groups


def _removed_page_rules(model, provider_ids) -> dict:
    """Provider "removed page" rules as the engine takes them; a rule without a URL pattern is ignored
    (an empty pattern would match every URL and turn every check into "gone")."""
    providers = model.objects.filter(pk__in=[p for p in provider_ids if p]).values_list(
        "pk", "removed_page_rules"
    )
    return {
        pk: tuple((rule.get("status"), rule["final_url"]) for rule in rules or () if rule.get("final_url"))
        for pk, rules in providers
    }
