"""Kept columns patched with the cases changed since they were read (selectors/stats_columns.py `_patch`,
the names written by migration 0043's triggers): after random sequences of changes of every kind the patched
columns give exactly the figures of a fresh read and of the plain SQL path; a skipped patch is caught; and
every case where a patch could be wrong reads everything instead."""

from __future__ import annotations

import itertools
import random
import threading
from datetime import timedelta

import psycopg2
import pytest
from django.db import connection, transaction

from notices.models import RemovalCycle, StatsChangedCase, Url
from notices.selectors import stats_columns
from notices.selectors.stats import refresh_snapshots, ttr_stats
from tests.notices.stats.test_columns import DAY, FILTERS, GROUPINGS, NOW, assert_same, load

# As a request reads: in autocommit, each change its own committed transaction.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def spied(monkeypatch):
    """Forget kept columns; count full reads and patches of `current_cases`."""
    stats_columns.forget()
    calls = {"read": 0, "patched": 0, "declined": 0}
    read, patch = stats_columns._read, stats_columns._patch

    def counted_read():
        calls["read"] += not connection.in_atomic_block  # a refresh reads in its own transaction
        return read()

    def counted_patch(cases, snapshot):
        found = patch(cases, snapshot)
        calls["patched" if found is not None else "declined"] += 1
        return found

    monkeypatch.setattr(stats_columns, "_read", counted_read)
    monkeypatch.setattr(stats_columns, "_patch", counted_patch)
    yield calls
    stats_columns.forget()


def fresh() -> stats_columns.Cases:
    with transaction.atomic():  # READ COMMITTED, not the spied path
        return stats_columns._copy(connection.cursor(), stats_columns._copy_sql(), {})


def assert_same_figures(cases, *, plain: bool) -> None:
    """The figures of `cases` are those of a fresh read for every grouping and filter, to the last bit (and
    those of the SQL path when `plain`), and so are the distribution and the law-enforcement counts."""
    reference = fresh()
    assert len(cases) == len(reference)
    assert sorted(cases.key.tolist()) == sorted(reference.key.tolist())
    for group_by, filters in itertools.product(GROUPINGS, FILTERS):
        ours = stats_columns.figures(cases, group_by=group_by, now=NOW, **filters)
        # Exactly: no figure depends on the order of the entries (a patch appends the changed cases).
        assert ours == stats_columns.figures(reference, group_by=group_by, now=NOW, **filters)
        if plain:
            assert_same(ours, ttr_stats(group_by=group_by, now=NOW, **filters))
    for filters in FILTERS[:6]:
        assert stats_columns.distribution(cases, now=NOW, **filters) == stats_columns.distribution(
            reference, now=NOW, **filters
        )
    since, until = NOW - timedelta(days=400), NOW + timedelta(days=1)
    assert stats_columns.law_enforcement(cases, since=since, until=until) == stats_columns.law_enforcement(
        reference, since=since, until=until
    )


def insert_urls(rng: random.Random, providers, n: int, *, noticed: bool) -> None:
    rows = []
    for _ in range(n):
        i = rng.randrange(10**9)
        rows.append(
            (
                f"http://n{i}.patch.example/{i}",
                "notified" if noticed else "new",
                rng.choice(["NL", "DE", "US", ""]),
                rng.choice(providers).pk,
                NOW - timedelta(seconds=rng.randrange(0, 90 * DAY)) if noticed else None,
            )
        )
    with connection.cursor() as cursor:
        for row in rows:
            cursor.execute(
                f"""INSERT INTO {Url._meta.db_table} (original, canonical, canonical_hash, host, status,
                        first_reported_at, created_at, consecutive_gone, reappearance_count, last_outcome,
                        first_gone_vantage, country_at_notice, notice_type_at_notice, provider_at_notice_id,
                        asn_at_notice, first_notice_sent_at)
                    VALUES (%s, %s, sha256(%s::bytea), 'n.patch.example', %s, now(), now(), 0, 0, '', '',
                            %s, 'hotline_notice', %s, 64496, %s)""",
                [row[0], row[0], row[0], row[1], row[2], row[3], row[4]],
            )


def pick(rng, queryset, k: int) -> list[int]:
    ids = list(queryset.values_list("pk", flat=True))
    return rng.sample(ids, min(k, len(ids)))


KINDS = (
    "notice remove reappear close reopen provider gone refer cycle_update cycle_delete insert intake delete"
)
KINDS = [*KINDS.split(), "uncounted"]


def change(rng: random.Random, providers) -> str:
    """One change of a random kind to a few cases (set-based, as the services write)."""
    kind = rng.choice(KINDS)
    k = rng.randint(1, 4)
    urls = Url.objects
    if kind == "notice":
        for pk in pick(rng, urls.filter(first_notice_sent_at__isnull=True, status="assessed"), k):
            urls.filter(pk=pk).update(
                status="notified",
                first_notice_sent_at=NOW - timedelta(seconds=rng.randrange(0, 60 * DAY)),
                provider_at_notice_id=rng.choice(providers).pk,
                country_at_notice=rng.choice(["BG", "NL", "US"]),
            )
    elif kind == "remove":
        ids = pick(rng, urls.filter(status="notified", removal_confirmed_at__isnull=True), k)
        low = rng.randrange(0, 10 * DAY)
        urls.filter(pk__in=ids).update(
            status="removed", removal_confirmed_at=NOW, ttr_low=low, ttr_high=low + 600
        )
    elif kind == "reappear":
        for url in urls.filter(pk__in=pick(rng, urls.filter(status="removed", ttr_low__isnull=False), k)):
            sent = url.first_notice_sent_at
            RemovalCycle.objects.create(
                url=url,
                provider_at_notice_id=url.provider_at_notice_id,
                asn_at_notice=url.asn_at_notice,
                country_at_notice=url.country_at_notice,
                notice_type_at_notice=url.notice_type_at_notice,
                first_notice_sent_at=sent,
                removal_confirmed_at=url.removal_confirmed_at,
                removed_low=sent + timedelta(seconds=url.ttr_low),
                removed_high=sent + timedelta(seconds=url.ttr_high),
                ttr_low=url.ttr_low,
                ttr_high=url.ttr_high,
                reappeared_at=NOW,
            )
            urls.filter(pk=url.pk).update(
                status="notified",
                removal_confirmed_at=None,
                ttr_low=None,
                ttr_high=None,
                first_notice_sent_at=NOW - timedelta(hours=rng.randrange(1, 100)),
            )
    elif kind == "close":
        urls.filter(pk__in=pick(rng, urls.filter(status__in=["notified", "removed"]), k)).update(
            status="closed"
        )
    elif kind == "reopen":
        urls.filter(pk__in=pick(rng, urls.filter(status="closed"), k)).update(status="notified")
    elif kind == "provider":
        ids = pick(rng, urls.filter(first_notice_sent_at__isnull=False), k)
        urls.filter(pk__in=ids).update(
            provider_at_notice_id=rng.choice([*[p.pk for p in providers], None]),
            asn_at_notice=rng.choice([64496, 64499, None]),
            country_at_notice=rng.choice(["FR", "CH", "", "DE"]),
            notice_type_at_notice=rng.choice(["hotline_notice", "removal_order"]),
        )
    elif kind == "gone":
        urls.filter(pk__in=pick(rng, urls.filter(status="notified"), k)).update(status="gone_before_notice")
    elif kind == "refer":
        for pk in pick(rng, urls.filter(first_notice_sent_at__isnull=False), k):
            url = urls.get(pk=pk)
            urls.filter(pk=pk).update(
                le_referred_at=url.first_reported_at + timedelta(days=rng.choice([1, 5]))
            )
    elif kind == "cycle_update":
        ids = pick(rng, RemovalCycle.objects.all(), k)
        RemovalCycle.objects.filter(pk__in=ids).update(
            ttr_low=rng.randrange(0, 5 * DAY), country_at_notice="GR"
        )
    elif kind == "cycle_delete":
        RemovalCycle.objects.filter(pk__in=pick(rng, RemovalCycle.objects.all(), k)).delete()
    elif kind == "insert":
        insert_urls(rng, providers, k, noticed=True)
    elif kind == "intake":  # new reports: not in the statistics, no names written
        insert_urls(rng, providers, k, noticed=False)
    elif kind == "delete":
        ids = pick(rng, urls.filter(past_cycles__isnull=True, first_notice_sent_at__isnull=False), 1)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM notices_duecheck WHERE url_id = ANY(%s)", [ids])  # the check queue
            cursor.execute(f"DELETE FROM {Url._meta.db_table} WHERE id = ANY(%s)", [ids])
    else:  # what the checker writes most: nothing the statistics count
        urls.filter(pk__in=pick(rng, urls.all(), k)).update(next_check_at=NOW, last_live_at=NOW)
    return kind


@pytest.mark.parametrize("seed", [11, 12])
def test_random_changes_patch_the_kept_columns_exactly(spied, monkeypatch, seed):
    monkeypatch.setattr(stats_columns, "PATCH_MAX_SHARE", 0.5)
    providers = load(300, seed)
    rng = random.Random(seed)
    stats_columns.current_cases()
    assert spied["read"] == 1
    kinds = set()
    for step in range(40):
        with transaction.atomic():
            for _ in range(rng.choice([1, 1, 2, 3])):  # sometimes several changes in one transaction
                kinds.add(change(rng, providers))
        if step % 9 == 4:
            refresh_snapshots(now=NOW)  # settles the changes: the names outlive it
        cases = stats_columns.current_cases()
        assert_same_figures(cases, plain=step % 8 == 0 or step == 39)
        assert stats_columns.current_cases() is cases  # kept: nothing changed since
    assert spied["read"] == 1, spied  # every answer after the first came from a patch
    assert spied["patched"] >= 30
    assert {"notice", "remove", "reappear", "close", "provider", "insert"} <= kinds


def test_a_skipped_patch_would_be_a_stale_answer(spied, monkeypatch):
    """The comparison above can fail: kept columns that are not patched after a removal differ from the
    plain path; patched, they agree."""
    load(120, 21)
    kept = stats_columns.current_cases()
    url = Url.objects.filter(status="notified").first()
    Url.objects.filter(pk=url.pk).update(status="removed", removal_confirmed_at=NOW, ttr_low=60, ttr_high=70)
    plain = ttr_stats(group_by="provider", now=NOW)
    stale = stats_columns.figures(kept, group_by="provider", now=NOW)
    assert [g["removed"] for g in stale] != [g["removed"] for g in plain]
    patched = stats_columns.current_cases()
    assert spied == {"read": 1, "patched": 1, "declined": 0}
    assert patched is not kept and patched.removed.sum() == kept.removed.sum() + 1
    assert_same(stats_columns.figures(patched, group_by="provider", now=NOW), plain)


def test_a_change_in_progress_during_the_read_is_patched_once_it_commits(spied):
    """Names are matched to the snapshot the columns were read under, not to ids: a transaction that began
    earlier and commits after the read (its change row older than one already seen) is still patched in."""
    load(80, 22)
    url, another = Url.objects.filter(status="notified").order_by("pk")[:2]
    dsn = {
        k: v
        for k, v in {
            "dbname": connection.settings_dict["NAME"],
            "user": connection.settings_dict["USER"],
            "host": connection.settings_dict["HOST"],
            "port": connection.settings_dict["PORT"],
            "password": connection.settings_dict["PASSWORD"],
        }.items()
        if v
    }
    other = psycopg2.connect(**dsn)
    try:
        with other.cursor() as cursor:  # begins, takes its change row and transaction id first
            cursor.execute(f"UPDATE {Url._meta.db_table} SET status = 'closed' WHERE id = %s", [url.pk])
        Url.objects.filter(pk=another.pk).update(country_at_notice="SE")  # commits meanwhile
        kept = stats_columns.current_cases()
        other.commit()
    finally:
        other.close()
    patched = stats_columns.current_cases()
    assert spied["read"] == 1 and spied["patched"] == 1
    assert patched.closed.sum() == kept.closed.sum() + 1
    assert_same_figures(patched, plain=True)


def test_a_thread_patching_meanwhile_serves_exact_figures(spied):
    """Patches are made under the lock: answers from several threads after a change are all exact."""
    load(100, 23)
    stats_columns.current_cases()
    Url.objects.filter(pk__in=Url.objects.filter(status="notified").values("pk")[:3]).update(
        status="removed", removal_confirmed_at=NOW, ttr_low=5, ttr_high=50
    )
    answers = []

    def answer():
        try:
            answers.append(stats_columns.figures(stats_columns.current_cases(), group_by="all", now=NOW))
        finally:
            connection.close()

    threads = [threading.Thread(target=answer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = ttr_stats(group_by="all", now=NOW)
    assert len(answers) == 4
    for got in answers:
        assert_same(got, expected)
    assert spied["read"] == 1 and spied["patched"] == 1


def test_whatever_cannot_be_patched_for_certain_is_read_again(spied, monkeypatch):
    load(200, 24)
    stats_columns.current_cases()
    assert spied["read"] == 1
    # A change naming no case.
    with connection.cursor() as cursor:
        cursor.execute("SELECT notices_stats_mark()")
    assert_same_figures(stats_columns.current_cases(), plain=False)
    assert (spied["read"], spied["declined"]) == (2, 1)
    # More cases changed than PATCH_MAX_SHARE of them.
    monkeypatch.setattr(stats_columns, "PATCH_MAX_SHARE", 0.01)
    in_stats = Url.objects.filter(first_notice_sent_at__isnull=False).exclude(status="gone_before_notice")
    ids = list(in_stats.values_list("pk", flat=True)[:10])
    Url.objects.filter(pk__in=ids).update(country_at_notice="PT")
    assert_same_figures(stats_columns.current_cases(), plain=False)
    assert (spied["read"], spied["declined"]) == (3, 2)
    # Names pruned since the read: the horizon passed the kept snapshot's oldest running transaction.
    monkeypatch.setattr(stats_columns, "PATCH_MAX_SHARE", 0.5)
    Url.objects.filter(pk=ids[0]).update(country_at_notice="IE")
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_value FROM notices_stats_changed_horizon")
        (horizon,) = cursor.fetchone()
        cursor.execute("SELECT setval('notices_stats_changed_horizon', pg_current_xact_id()::text::int8)")
        try:
            assert_same_figures(stats_columns.current_cases(), plain=True)
        finally:  # a sequence is not rolled back
            cursor.execute("SELECT setval('notices_stats_changed_horizon', %s)", [horizon])
    assert (spied["read"], spied["declined"]) == (4, 3)
    # A process reading after that patches again.
    Url.objects.filter(pk=ids[1]).update(country_at_notice="IE")
    assert_same_figures(stats_columns.current_cases(), plain=True)
    assert (spied["read"], spied["patched"]) == (4, 1)


def test_a_refresh_prunes_old_names_below_its_horizon(spied, monkeypatch):
    """Names older than CHANGED_CASES_KEPT go, but only below the horizon, which never passes a transaction
    still running; a process that read before the horizon reads anew, one that read after patches."""
    load(40, 27)
    stats_columns.current_cases()
    StatsChangedCase.objects.update(changed_at=NOW - timedelta(days=30))
    monkeypatch.setattr(stats_columns, "CHANGED_CASES_KEPT", timedelta(hours=1))
    refresh_snapshots(now=NOW)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT last_value, pg_snapshot_xmin(pg_current_snapshot())::text::int8"
            " FROM notices_stats_changed_horizon"
        )
        horizon, running = cursor.fetchone()
    assert 0 < horizon <= running
    assert not StatsChangedCase.objects.filter(xact__lt=horizon).exists()
    url = Url.objects.filter(status="notified").first()
    Url.objects.filter(pk=url.pk).update(status="closed")
    assert StatsChangedCase.objects.filter(key=url.pk, xact__gte=horizon).exists()
    assert_same_figures(stats_columns.current_cases(), plain=True)
    assert spied["read"] + spied["patched"] == 2  # patched, unless a transaction elsewhere held the horizon


def test_a_refresh_keeps_the_names_a_process_still_needs(spied):
    load(60, 25)
    stats_columns.current_cases()
    url = Url.objects.filter(status="notified").first()
    Url.objects.filter(pk=url.pk).update(status="removed", removal_confirmed_at=NOW, ttr_low=1, ttr_high=2)
    refresh_snapshots(now=NOW)  # settles the change (its StatsChange row gone, a new generation)
    assert StatsChangedCase.objects.filter(key=url.pk).exists()
    assert_same_figures(stats_columns.current_cases(), plain=True)
    assert (spied["read"], spied["patched"]) == (1, 1)


def test_only_cases_in_the_statistics_are_named(spied):
    """Bulk intake without first notices, and writes the statistics do not count, name nothing; a case that
    leaves the statistics or is closed is named (the trigger sees the status)."""
    providers = load(30, 26)
    StatsChangedCase.objects.all().delete()
    rng = random.Random(26)
    insert_urls(rng, providers, 20, noticed=False)
    Url.objects.update(next_check_at=NOW, last_live_at=NOW)
    assert not StatsChangedCase.objects.exists()
    noticed = Url.objects.filter(status="notified").first()
    Url.objects.filter(pk=noticed.pk).update(status="closed")
    assert list(StatsChangedCase.objects.values_list("key", flat=True)) == [noticed.pk]
    cycle = RemovalCycle.objects.first()
    RemovalCycle.objects.filter(pk=cycle.pk).update(ttr_high=cycle.ttr_high + 1)
    assert StatsChangedCase.objects.filter(key=-cycle.pk).exists()
