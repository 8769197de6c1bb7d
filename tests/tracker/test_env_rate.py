"""Rates in settings (`API_THROTTLE_RATE`, `API_ANON_THROTTLE_RATE`): DRF's `N/period`, checked at
start-up."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from tracker.env import env_rate, parse_rate


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [("6000/min", (6000, 60)), ("10/s", (10, 1)), ("1000/hour", (1000, 3600)), (" 5/day ", (5, 86400))],
)
def test_parse_rate(raw, parsed):
    assert parse_rate(raw) == parsed


@pytest.mark.parametrize("raw", ["", "6000", "0/min", "-1/min", "ten/min", "5/week", "5/"])
def test_a_bad_rate_stops_the_start(monkeypatch, raw):
    monkeypatch.setenv("API_THROTTLE_RATE", raw)
    with pytest.raises(ImproperlyConfigured, match="API_THROTTLE_RATE"):
        env_rate("API_THROTTLE_RATE", "6000/min")
