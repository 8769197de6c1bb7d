"""The benchmarks write their data with SQL: each loader still fits the schema the migrations make (a loader
that names no value for a new NOT NULL column breaks `make bench`, which no other test runs)."""

from __future__ import annotations

import pytest

from notices.models import Assessment, Notice, Url

pytestmark = pytest.mark.django_db(transaction=True)  # the loaders VACUUM, as they do before a run


def test_the_notices_loader_writes_assessed_cases():
    from benchmarks.notices import load_assessed_items

    batches = load_assessed_items(2, 6)
    assert sum(len(ids) for ids in batches.values()) == 6
    assert Assessment.objects.count() == 6
    assert Url.objects.filter(current_assessment__isnull=False).count() == 6


def test_the_escalation_loader_writes_open_and_due_cases():
    from benchmarks.escalation import load

    load(10, 5)  # its items join the notices by URL ids from 1, as after the benchmark's reset
    assert Url.objects.count() == 15
    assert Notice.objects.filter(reference__startswith="TN-2000-").count() == 1


def test_the_statistics_loader_writes_removed_cases():
    from benchmarks.stats import load_removed_items

    load_removed_items(20)
    assert Url.objects.filter(removal_confirmed_at__isnull=False).count() > 0


def test_the_workbench_loader_writes_cases():
    from benchmarks.workbench import load_cases

    load_cases(20)
    assert Url.objects.count() >= 20
