"""P13 and P14 — the analyst's workbench with 1,000,000 cases: the dashboard (P13, < 500 ms server time) and
each admin list view and work queue (P14, < 300 ms), as a signed-in analyst's browser asks for them.

Each request goes through Django's whole stack in-process (middleware, session, the staff gate, the admin,
templates). The cases are spread over the states a hotline's database holds (60 % removed, 20 % notified,
8 % assessed, 8 % new, the rest closed or gone before notice) and 200 providers in 27 countries, with one
notice per 50 noticed cases and one event per case. The log gives each page's query count and its slowest
queries with their plans.

Baseline (same run, same data): the page's floor — its main query alone in raw SQL (the 100 rows of the list;
for the dashboard, the live counts and the provider figures it shows, as plain SQL without the snapshot).
"""

from __future__ import annotations

import statistics
import time

from benchmarks.harness import Result, Stopwatch, log, reset_database
from benchmarks.stats import COUNTRIES  # the 27 countries of the P5 data, 20 of them EU member states

SIZES = {"small": 100_000, "full": 1_000_000}
REPEATS = {"small": 5, "full": 7}
PROVIDERS = 200


def load_cases(n: int) -> None:
    """n cases and what they carry, generated inside PostgreSQL (the load is not what is measured)."""
    from django.db import connection

    from notices.models import Event, HostingProvider, Notice, NoticeItem, Url

    providers = HostingProvider.objects.bulk_create(
        [
            HostingProvider(slug=f"bench-{i}", name=f"Bench Hosting {i}", country=COUNTRIES[i % 27])
            for i in range(PROVIDERS)
        ]
    )
    params = {"countries": COUNTRIES, "providers": [p.pk for p in providers], "p": PROVIDERS, "n": n}
    url, notice, item, event = (m._meta.db_table for m in (Url, Notice, NoticeItem, Event))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {url} (original, canonical, canonical_hash, host, status, first_reported_at,
                    created_at, consecutive_gone, reappearance_count, country_at_notice,
                    notice_type_at_notice, last_outcome, first_gone_vantage, provider_id,
                    provider_at_notice_id, asn_at_notice, first_notice_sent_at, removal_confirmed_at,
                    ttr_low, ttr_high, closed_at)
                SELECT u, u, sha256(u::bytea), 'h' || g || '.bench.example', s, now() - d, now() - d, 0,
                       (g %% 97 = 0)::int, CASE WHEN noticed THEN c ELSE '' END, 'hotline_notice', 'live', '',
                       CASE WHEN s = 'assessed' AND g %% 2 = 0 OR s = 'new' THEN NULL ELSE p END,
                       CASE WHEN noticed THEN p END, CASE WHEN noticed THEN 64496 + g %% %(p)s END,
                       CASE WHEN noticed THEN now() - d + interval '1 hour' END,
                       CASE WHEN s = 'removed' THEN now() END,
                       CASE WHEN s = 'removed' THEN (g::bigint * 7919) %% 2000000 END,
                       CASE WHEN s = 'removed' THEN (g::bigint * 7919) %% 2000000 + 600 END,
                       CASE WHEN s = 'closed' THEN now() END
                FROM generate_series(1, %(n)s) AS g,
                     LATERAL (SELECT 'http://h' || g || '.bench.example/x' AS u,
                                     (g %% 365) * interval '1 day' AS d,
                                     (%(countries)s::text[])[1 + g %% 27] AS c,
                                     (%(providers)s::bigint[])[1 + g %% %(p)s] AS p,
                                     CASE WHEN g %% 100 < 60 THEN 'removed' WHEN g %% 100 < 80 THEN 'notified'
                                          WHEN g %% 100 < 88 THEN 'assessed' WHEN g %% 100 < 96 THEN 'new'
                                          WHEN g %% 100 < 98 THEN 'closed' ELSE 'gone_before_notice' END AS s
                             ) AS x,
                     LATERAL (SELECT s IN ('removed', 'notified', 'closed') AS noticed) AS y""",
            params,
        )
        # One notice per 50 noticed cases (of one provider), its items open while the case is up.
        cursor.execute(
            f"""INSERT INTO {notice} (reference, notice_type, status, language, deadline_at, created_at,
                    queued_at, sent_at, provider_ticket, provider_id)
                SELECT 'TN-2026-' || lpad(k::text, 7, '0'), 'hotline_notice', 'sent', 'en',
                       min(first_notice_sent_at) + interval '1 day', min(first_notice_sent_at),
                       min(first_notice_sent_at), min(first_notice_sent_at), '', min(provider_at_notice_id)
                FROM (SELECT provider_at_notice_id, first_notice_sent_at,
                             (row_number() OVER (PARTITION BY provider_at_notice_id ORDER BY id) - 1) / 50
                               * %(p)s + dense_rank() OVER (ORDER BY provider_at_notice_id) AS k
                      FROM {url} WHERE provider_at_notice_id IS NOT NULL) AS cases
                GROUP BY k""",
            params,
        )
        cursor.execute(
            f"""INSERT INTO {item} (status, provider_id_copy, is_open, notice_id, url_id)
                SELECT CASE WHEN u.status = 'removed' THEN 'removed' ELSE 'pending' END,
                       u.provider_at_notice_id, u.status = 'notified', n.id, u.id
                FROM (SELECT id, status, provider_at_notice_id,
                             'TN-2026-' || lpad(((row_number() OVER (PARTITION BY provider_at_notice_id
                                 ORDER BY id) - 1) / 50 * %(p)s
                                 + dense_rank() OVER (ORDER BY provider_at_notice_id))::text, 7, '0') AS ref
                      FROM {url} WHERE provider_at_notice_id IS NOT NULL) AS u
                JOIN {notice} n ON n.reference = u.ref""",
            params,
        )
        cursor.execute(
            f"""INSERT INTO {event} (kind, at, actor, data, url_id)
                SELECT 'url.reported', first_reported_at, 'bench', '{{}}'::jsonb, id FROM {url}"""
        )
        cursor.execute("ANALYZE")


def _staff_client():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from notices.services.roles import ANALYST, sync_roles

    sync_roles()
    user, _ = get_user_model().objects.get_or_create(username="bench-analyst", defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name=ANALYST))
    client = Client()
    client.force_login(user)
    _pass_second_factor(client, user)
    return client


def _pass_second_factor(client, user) -> None:
    """Enrol an authenticator and mark the session as through both sign-in steps, as the sign-in pages
    leave it (the gate checks this on every staff URL)."""
    import pyotp
    from django.utils import timezone

    from notices.admin import staff_session
    from notices.models import PortalAccount

    now = timezone.now()
    account, _ = PortalAccount.objects.get_or_create(user=user)
    PortalAccount.objects.filter(pk=account.pk).update(totp_secret=pyotp.random_base32(), totp_enabled_at=now)
    session = client.session
    staff_session.mark_signed_in(session, user, now=now)
    session.save()


PAGES = [
    # (id, label, path)
    ("P14", "cases, all", "/admin/notices/url/"),
    ("P14", "queue: new reports", "/admin/notices/url/?queue=new"),
    ("P14", "queue: awaiting trace", "/admin/notices/url/?queue=untraced"),
    ("P14", "queue: ready to notify", "/admin/notices/url/?queue=ready"),
    ("P14", "queue: notified and live", "/admin/notices/url/?queue=notified"),
    ("P14", "queue: overdue", "/admin/notices/url/?queue=overdue"),
    ("P14", "queue: reappeared", "/admin/notices/url/?queue=reappeared"),
    ("P14", "queue: closed", "/admin/notices/url/?queue=closed"),
    ("P14", "provider + country", "/admin/notices/url/?provider__id__exact={provider}&country=DE"),
    ("P14", "cases, search by host", "/admin/notices/url/?q=h777.bench.example"),
    ("P14", "notices", "/admin/notices/notice/"),
    ("P14", "events", "/admin/notices/event/"),
    ("P13", "dashboard", "/admin/dashboard/"),
]  # fmt: skip


def _floor(path: str):
    """The page's main query alone, in raw SQL."""
    from django.db import connection

    from notices.models import Event, Notice, Url

    table = {"notice": Notice, "event": Event}.get(path.split("/")[3], Url)._meta.db_table

    def run():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {table} ORDER BY id DESC LIMIT 100")
            cursor.fetchall()

    return run


def _dashboard_floor():
    """What the dashboard shows, as plain SQL: the live counts and the provider figures without snapshot."""
    from django.db import connection
    from django.utils import timezone

    from notices.models import Url
    from notices.selectors.stats import ttr_stats

    def run():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT status, count(*) FROM {Url._meta.db_table} GROUP BY status")
            cursor.fetchall()
        ttr_stats(group_by="provider", now=timezone.now())

    return run


def _profile(client, path: str) -> tuple[int, list[tuple[float, str]]]:
    """The page's query count and its three slowest queries (ms, SQL)."""
    from django.db import connection

    timed: list[tuple[float, str]] = []

    def timing(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timed.append(
                ((time.perf_counter() - started) * 1000, sql % tuple(params or ()) if params else sql)
            )

    with connection.execute_wrapper(timing):
        client.get(path)
    return len(timed), sorted(timed, reverse=True)[:3]


def _plan(sql: str) -> str:
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF) {sql}")
            return "\n".join(f"      {row[0]}" for row in cursor.fetchall()[:12])
    except Exception as exc:  # a statement that cannot be explained as printed (quoting); say so, go on
        return f"      (no plan: {type(exc).__name__})"


def run(scale: str) -> list[Result]:
    from notices.models import HostingProvider
    from notices.selectors import stats_columns
    from notices.selectors.stats import refresh_snapshots

    n, repeats = SIZES[scale], REPEATS[scale]
    reset_database()
    log(f"P13/P14: loading {n:,} cases")
    with Stopwatch() as sw:
        load_cases(n)
    log(f"P13/P14: loaded in {sw.seconds:.0f} s")
    from django.utils import timezone

    refresh_snapshots(now=timezone.now())
    stats_columns.forget()
    client = _staff_client()
    provider = HostingProvider.objects.get(slug="bench-7").pk
    results = []
    for target_id, label, template in PAGES:
        path = template.format(provider=provider)
        first = client.get(path)
        assert first.status_code == 200, (path, first.status_code, first.content[:300])
        samples = []
        for _ in range(repeats):
            with Stopwatch() as sw:
                response = client.get(path)
            assert response.status_code == 200
            samples.append(sw.seconds * 1000)
        value = statistics.median(samples)
        floor = _dashboard_floor() if target_id == "P13" else _floor(path)
        floor_samples = []
        for _ in range(1 if target_id == "P13" and scale == "full" else 3):
            with Stopwatch() as sw:
                floor()
            floor_samples.append(sw.seconds * 1000)
        count, slowest = _profile(client, path)
        log(
            f"{target_id} {label}: {value:.0f} ms, {count} queries"
            f" (first request {len(first.content):,} bytes)"
        )
        for ms, sql in slowest[: 2 if target_id == "P14" else 3]:
            log(f"    {ms:.1f} ms  {sql[:160]}")
            if ms > 50:
                log(_plan(sql))
        results.append(
            Result.compare(
                id=target_id,
                name=f"admin {label} (ms server time, {count} queries)",
                value=value,
                unit="ms",
                better="lower",
                target="< 500 ms" if target_id == "P13" else "< 300 ms",
                baseline="the dashboard's figures as plain SQL" if target_id == "P13" else "raw page query",
                baseline_value=statistics.median(floor_samples),
                scale=scale,
                n=n,
            )
        )
    reset_database()
    return results
