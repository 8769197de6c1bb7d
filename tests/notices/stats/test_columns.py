"""The fast path of the statistics (selectors/stats_columns.py: the cases as columns in memory) against the
plain one (selectors/stats.ttr_stats: the same figures computed in PostgreSQL) — on varied cases, for every
grouping and filter combination; and when the columns a process keeps may be served."""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone
from psycopg2.extras import execute_values

from notices.models import HostingProvider, RemovalCycle, StatsChange, StatsSnapshot, Url
from notices.selectors import stats_columns
from notices.selectors.stats import refresh_snapshots, ttr_stats

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
DAY = 86400
COUNTRIES = ["NL", "DE", "BG", "FR", "US", "CH", "GR", ""]
STATUSES = ["removed", "notified", "notified", "closed", "gone_before_notice", "assessed"]
# TTR values that land on the survival curve's points and on each other (ties), besides random ones.
EDGES = [0, 1, 3599, 3600, 3601, 6 * 3600, DAY, 3 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 31 * DAY]


def load(n: int, seed: int) -> list[HostingProvider]:
    """n URLs of every kind — removed, still up, closed, gone before notice, without provider, ASN or country,
    both notice types, exact ties — and finished cycles (reappearances) for a fifth of them."""
    rng = random.Random(seed)
    providers = [
        HostingProvider.objects.create(slug=f"col-{i}", name=f"Column Hosting {i}", country="NL")
        for i in range(6)
    ]
    rows = []
    for i in range(n):
        status = rng.choice(STATUSES)
        sent = NOW - timedelta(seconds=rng.choice([rng.randrange(0, 400 * DAY), *EDGES]))
        if status == "assessed":
            sent = None
        low = rng.choice([rng.randrange(0, 40 * DAY), *EDGES])
        high = low + rng.choice([0, 1, 600, rng.randrange(0, 3 * DAY)])
        removed = status == "removed"
        rows.append(
            (
                f"http://h{i}.columns.example/{i}",
                status,
                rng.choice(COUNTRIES),
                rng.choice(["hotline_notice", "removal_order", "hotline_notice"]),
                rng.choice(providers).pk if rng.random() > 0.1 else None,
                rng.choice([64496, 64497, 64498, None]),
                sent,
                NOW if removed else None,
                low if removed else None,
                high if removed else None,
            )
        )
    with connection.cursor() as cursor:
        execute_values(
            cursor,
            f"""INSERT INTO {Url._meta.db_table} (original, canonical, canonical_hash, host, status,
                    first_reported_at, created_at, consecutive_gone, reappearance_count, last_outcome,
                    first_gone_vantage, country_at_notice, notice_type_at_notice, provider_at_notice_id,
                    asn_at_notice, first_notice_sent_at, removal_confirmed_at, ttr_low, ttr_high)
                SELECT u, u, sha256(u::bytea), 'h.columns.example', s::varchar, now(), now(), 0, 0, '', '',
                       c, t, p, a, f, r, lo, hi
                FROM (VALUES %s) AS v(u, s, c, t, p, a, f, r, lo, hi)""",
            rows,
            template="(%s, %s, %s, %s, %s::bigint, %s::bigint, %s::timestamptz, %s::timestamptz,"
            " %s::bigint, %s::bigint)",
        )
    cycles = []
    for url in Url.objects.filter(first_notice_sent_at__isnull=False).order_by("pk")[: n // 5]:
        low = rng.choice([rng.randrange(0, 10 * DAY), *EDGES])
        sent = url.first_notice_sent_at - timedelta(days=rng.randrange(1, 60))
        cycles.append(
            RemovalCycle(
                url=url,
                provider_at_notice_id=url.provider_at_notice_id,
                asn_at_notice=url.asn_at_notice,
                country_at_notice=rng.choice(COUNTRIES),
                notice_type_at_notice=url.notice_type_at_notice,
                first_notice_sent_at=sent,
                removal_confirmed_at=sent + timedelta(seconds=low + 700),
                removed_low=sent + timedelta(seconds=low),
                removed_high=sent + timedelta(seconds=low + 600),
                ttr_low=low,
                ttr_high=low + 600,
                reappeared_at=sent + timedelta(seconds=low + 7200),
            )
        )
    RemovalCycle.objects.bulk_create(cycles)
    return providers


FILTERS = [
    {},
    {"provider": "col-1"},
    {"provider": "no-such-provider"},
    {"country": "nl"},
    {"country": "US"},
    {"asn": 64497},
    {"eu": True},
    {"eu": False},
    {"since": NOW - timedelta(days=90)},
    {"until": NOW - timedelta(days=30)},
    {"since": NOW - timedelta(days=200), "until": NOW - timedelta(days=3)},
    {"notice_type": "removal_order"},
    {"provider": "col-2", "eu": True, "since": NOW - timedelta(days=300)},
    {"country": "DE", "asn": 64496, "notice_type": "hotline_notice"},
]
GROUPINGS = ["provider", "asn", "country", "month", "member_state", "all"]


def assert_same(fast: list[dict], plain: list[dict]) -> None:
    """Equal, except survival values and shares, which may differ in the last bits of a float (logarithms and
    averages in PostgreSQL and in numpy) — never by more than the 4-decimal rounding."""
    assert [g["key"] for g in fast] == [g["key"] for g in plain]
    for f, p in zip(fast, plain, strict=True):
        for name in p:
            if name == "survival":
                assert [point["t"] for point in f[name]] == [point["t"] for point in p[name]]
                # One unit of the last place (a value on a rounding boundary), plus the float error of it.
                for a, b in zip(f[name], p[name], strict=True):
                    assert a["low"] == pytest.approx(b["low"], abs=1.000001e-4), (f["key"], name, a, b)
                    assert a["high"] == pytest.approx(b["high"], abs=1.000001e-4), (f["key"], name, a, b)
            elif name.startswith("share"):
                for bound in ("low", "high") if isinstance(p[name], dict) else (None,):
                    a = f[name][bound] if bound else f[name]
                    b = p[name][bound] if bound else p[name]
                    assert a == pytest.approx(b, rel=1e-12), (f["key"], name)
            else:
                assert f[name] == p[name], (f["key"], name, f[name], p[name])


@pytest.mark.parametrize("seed", [1, 2])
def test_columns_agree_with_the_query_on_every_grouping_and_filter(seed):
    load(600, seed)
    cases, _ = stats_columns.read_cases()
    assert len(cases) > 300
    compared = 0
    for group_by, filters in itertools.product(GROUPINGS, FILTERS):
        plain = ttr_stats(group_by=group_by, now=NOW, **filters)
        fast = stats_columns.figures(cases, group_by=group_by, now=NOW, **filters)
        assert_same(fast, plain)
        # Without survival curves the percentiles come from partitions instead of sorts: the same figures.
        partitioned = stats_columns.figures(cases, group_by=group_by, now=NOW, survival=False, **filters)
        assert_same(partitioned, [{k: v for k, v in g.items() if k != "survival"} for g in plain])
        compared += len(plain)
    assert compared > 200  # the comparison saw real groups, not empty answers


def test_columns_agree_on_an_empty_database_and_a_single_case():
    cases, _ = stats_columns.read_cases()
    assert stats_columns.figures(cases, group_by="provider", now=NOW) == ttr_stats(
        group_by="provider", now=NOW
    )
    load(1, 3)
    cases, _ = stats_columns.read_cases()
    for group_by in GROUPINGS:
        assert_same(
            stats_columns.figures(cases, group_by=group_by, now=NOW), ttr_stats(group_by=group_by, now=NOW)
        )


@pytest.mark.django_db(transaction=True)  # as a request reads: in autocommit
def test_kept_columns_are_served_only_while_nothing_changed(make_case, make_notice, api_only):
    """Columns are kept while no change is recorded; a change recorded since makes the next answer bring them
    up to date (patched: test_patching.py); a refresh that settled changes they already include leaves them
    as they are, under the new token."""
    stats_columns.forget()
    load(50, 4)
    kept = stats_columns.current_cases()
    assert stats_columns.current_cases() is kept  # nothing changed: the same columns, not read again
    token = stats_columns._Kept.token
    refresh_snapshots(now=NOW)  # a new generation, no case changed
    settled = stats_columns.current_cases()
    assert settled is kept and stats_columns._Kept.token != token
    assert stats_columns.current_cases() is settled

    when = timezone.now()
    case = make_case("http://files.polder.example/columns/new.html", provider=api_only, when=when)
    make_notice(case, now=when)  # a first notice: the statistics change
    changed = stats_columns.current_cases()
    assert changed is not settled and len(changed) == len(settled) + 1
    assert stats_columns.current_cases() is changed
    Url.objects.filter(pk=case.pk).update(ttr_low=5, ttr_high=9, removal_confirmed_at=when, status="removed")
    removed = stats_columns.current_cases()  # a removal: read again
    assert removed is not changed and removed.removed.sum() == changed.removed.sum() + 1


@pytest.mark.django_db(transaction=True)
def test_a_change_during_the_read_is_not_kept(monkeypatch):
    load(20, 6)
    assert stats_columns.read_cases()[1] is not None  # nothing happening: the columns would be kept
    original = stats_columns._token
    readings = iter([False, True])

    def token_then_a_change(cursor):
        if next(readings, False):  # between the two readings, a change commits
            StatsChange.objects.create(changed_at=timezone.now())
        return original(cursor)

    monkeypatch.setattr(stats_columns, "_token", token_then_a_change)
    _, token = stats_columns.read_cases()
    assert token is None


def test_columns_are_not_kept_inside_a_transaction_that_wrote():
    """Changes are marked once per transaction: after a first write, a second would not show in the token."""
    load(20, 7)
    stats_columns.forget()
    stats_columns.current_cases()
    assert stats_columns._Kept.cases is None


def test_the_refresh_stores_what_the_query_computes():
    """The scheduled refresh computes every grouping from one read of the columns; each snapshot holds what
    the SQL path computes for the same moment."""
    load(300, 5)
    refresh_snapshots(now=NOW)
    for snapshot in StatsSnapshot.objects.all():
        assert_same(snapshot.groups, json.loads(json.dumps(ttr_stats(group_by=snapshot.group_by, now=NOW))))


def law_enforcement_query(since, until) -> tuple[int, int]:
    """The law-enforcement figures of the year as a query over the URL table (the plain path)."""
    from django.db.models import F, Q

    from notices.enums import UrlStatus

    urls = Url.objects.filter(first_notice_sent_at__gte=since, first_notice_sent_at__lt=until).exclude(
        status__in=[UrlStatus.GONE_BEFORE_NOTICE, UrlStatus.CLOSED]
    )
    within = urls.filter(
        Q(le_referred_at__isnull=False), le_referred_at__lte=F("first_reported_at") + timedelta(days=3)
    )
    return urls.count(), within.count()


def test_law_enforcement_figures_agree_with_the_query():
    load(400, 8)
    rng = random.Random(8)
    urls = list(Url.objects.filter(first_notice_sent_at__isnull=False))
    for url in urls:  # referrals before, at and after the 3-day mark, and none
        offset = rng.choice([None, 0, DAY, 3 * DAY, 3 * DAY + 1, 10 * DAY])
        Url.objects.filter(pk=url.pk).update(
            le_referred_at=None if offset is None else url.first_reported_at + timedelta(seconds=offset)
        )
    cases, _ = stats_columns.read_cases()
    for since, until in [
        (NOW - timedelta(days=400), NOW + timedelta(days=1)),
        (NOW - timedelta(days=100), NOW - timedelta(days=10)),
        (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    ]:
        expected = law_enforcement_query(since, until)
        assert stats_columns.law_enforcement(cases, since=since, until=until) == expected
        assert expected[1] > 0
