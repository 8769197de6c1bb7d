"""Fixtures for the statistics-freshness tests: noticed cases of one provider, and removals confirmed through
the recorder as the checker confirms them (K = 2 gone observations at least M = 1 s apart)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from notices.checks.classify import Outcome
from notices.checks.engine import Observation
from notices.models import Url
from notices.services.checking import record_observations

_numbers = itertools.count()


@pytest.fixture(autouse=True)
def _removal_settings(settings):
    settings.REMOVAL_CONFIRMATIONS = 2
    settings.REMOVAL_MIN_SPACING = 1
    settings.CHECKER_VANTAGE_POINTS = ["direct"]


@pytest.fixture
def noticed(api_only, make_case, make_notice):
    """Factory: `n` cases of `provider` in one notice, sent (API pickup sends at once) `ago` before now."""

    def _make(n: int = 1, *, ago: timedelta = timedelta(hours=1)) -> list[Url]:
        when = timezone.now() - ago
        cases = [
            make_case(
                f"http://files.polder.example/stats/{next(_numbers)}.html", provider=api_only, when=when
            )
            for _ in range(n)
        ]
        make_notice(*cases, now=when)
        return list(Url.objects.filter(pk__in=[c.pk for c in cases]).order_by("pk"))

    return _make


def observation(case: Url, outcome: str, at) -> Observation:
    return Observation(
        key=case.pk,
        outcome=Outcome(outcome),
        status_code={"live": 200, "gone": 404}[outcome],
        final_url=case.canonical,
        error_class="",
        resolved_ip="198.51.100.10",
        redirects=0,
        elapsed_ms=12,
        checked_at=at,
        vantage="direct",
    )


def confirm_removals(cases: list[Url], *, set_based: bool = True) -> int:
    """Two gone checks 2 s apart for every case, each check round one batch (one transaction). Returns
    removals confirmed."""
    start = timezone.now()
    removals = 0
    for offset in (0, 2):
        at = start + timedelta(seconds=offset)
        removals += record_observations(
            [observation(c, "gone", at) for c in cases], now=at, set_based=set_based
        )
    return removals


def see_live(cases: list[Url]) -> None:
    at = timezone.now() + timedelta(seconds=5)
    record_observations([observation(c, "live", at) for c in cases], now=at)
