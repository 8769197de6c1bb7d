"""Shared request counters (notices/infra/ratelimit.py): fixed windows, Retry-After, the watched bucket and
the refusals a process remembers."""

from __future__ import annotations

import pytest

from notices.infra import ratelimit
from notices.infra.ratelimit import Verdict
from notices.models import RateCounter

pytestmark = pytest.mark.django_db

T0 = 1_800_000_000  # a multiple of 60 and 3600: the start of a window


def test_a_bucket_counts_its_window_and_says_when_it_ends():
    verdicts = [ratelimit.count("b", "3/min", now=T0 + i) for i in range(5)]
    assert verdicts == [Verdict(True)] * 3 + [Verdict(False, 57), Verdict(False, 56)]
    assert RateCounter.objects.get(bucket="b").hits == 5  # refused requests count too
    assert ratelimit.count("b", "3/min", now=T0 + 60) == Verdict(True)  # the next window starts over
    assert RateCounter.objects.get(bucket="b").hits == 1


def test_retry_after_is_at_least_a_second():
    for i in range(2):
        ratelimit.count("b", "1/min", now=T0 + 59.5 + i * 0.1)
    assert ratelimit.remembered("b", now=T0 + 59.9) == Verdict(False, 1)


def test_a_watched_bucket_over_its_rate_refuses_without_counting_there():
    for _ in range(3):
        ratelimit.count("addr", "2/hour", now=T0)
    assert ratelimit.count("key", "100/min", now=T0 + 10, watch=("addr", "2/hour")) == Verdict(False, 3590)
    assert RateCounter.objects.get(bucket="addr").hits == 3
    assert ratelimit.count("other", "100/min", now=T0 + 10, watch=("addr-2", "2/hour")) == Verdict(True)


def test_a_refusal_is_remembered_until_its_window_ends():
    assert ratelimit.remembered("b", now=T0) is None
    ratelimit.count("b", "1/min", now=T0)
    ratelimit.count("b", "1/min", now=T0 + 1)
    assert ratelimit.remembered("b", now=T0 + 30) == Verdict(False, 30)
    assert ratelimit.remembered("b", now=T0 + 60) is None


def test_remembered_refusals_stay_bounded(monkeypatch):
    monkeypatch.setattr(ratelimit, "REMEMBERED_MAX", 3)
    for name in ("a", "b"):
        ratelimit._remember(name, T0 + 10, now=T0)
    ratelimit._remember("c", T0 + 100, now=T0)
    ratelimit._remember("d", T0 + 100, now=T0 + 50)  # full: the ended ones (a, b) go
    assert sorted(ratelimit._refused_until) == ["c", "d"]
    ratelimit._remember("e", T0 + 200, now=T0 + 60)
    ratelimit._remember("f", T0 + 200, now=T0 + 60)  # full of live ones: all forgotten
    assert sorted(ratelimit._refused_until) == ["f"]
