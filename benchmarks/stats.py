"""P5: time-to-removal statistics over 1,000,000 removed items, grouped by provider and by country.

The API and dashboard serve a snapshot a scheduled job recomputes (`notices.refresh_stats`); the value is what
a request costs on that path. The baseline is the raw query (`ttr_stats`) on the same data in the same run —
what the snapshot saves — and the log shows how long the scheduled recomputation takes.
"""

from __future__ import annotations

import statistics

from benchmarks.harness import Result, Stopwatch, log, reset_database

SIZES = {"small": 100_000, "full": 1_000_000}
COUNTRIES = [
    "NL",
    "BG",
    "RO",
    "DE",
    "FR",
    "PL",
    "SE",
    "IT",
    "ES",
    "AT",
    "BE",
    "CZ",
    "DK",
    "FI",
    "GR",
    "HU",
    "IE",
    "PT",
    "SK",
    "SI",
    "US",
    "CH",
    "GB",
    "CA",
    "RU",
    "UA",
    "TR",
]
PROVIDERS = 200
REPEATS = 5


def load_removed_items(n: int) -> None:
    """n removed cases over 200 providers and 27 countries, with TTR bounds spread over 0–23 days,
    generated inside PostgreSQL (the load is not what is measured)."""
    from django.db import connection

    from notices.models import HostingProvider, Url

    providers = HostingProvider.objects.bulk_create(
        [
            HostingProvider(slug=f"bench-{i}", name=f"Bench Hosting {i}", country=COUNTRIES[i % 27])
            for i in range(PROVIDERS)
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {Url._meta.db_table} (original, canonical, canonical_hash, host, status,
                    first_reported_at, created_at, consecutive_gone, reappearance_count, country_at_notice,
                    notice_type_at_notice, last_outcome, first_gone_vantage, provider_at_notice_id,
                    asn_at_notice, first_notice_sent_at, removal_confirmed_at, ttr_low, ttr_high)
                SELECT u, u, sha256(u::bytea), 'h' || g || '.bench.example', 'removed', now(), now(), 2, 0,
                       (%(countries)s::text[])[1 + g %% 27], 'hotline_notice', '', '',
                       (%(providers)s::bigint[])[1 + g %% %(p)s], 64496 + g %% %(p)s,
                       now() - (g %% 365) * interval '1 day', now(),
                       (g::bigint * 7919) %% 2000000, (g::bigint * 7919) %% 2000000 + 600
                FROM generate_series(1, %(n)s) AS g,
                     LATERAL (SELECT 'http://h' || g || '.bench.example/x') AS x(u)""",
            {"countries": COUNTRIES, "providers": [p.pk for p in providers], "p": PROVIDERS, "n": n},
        )
        cursor.execute(f"ANALYZE {Url._meta.db_table}")


def _median_ms(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        with Stopwatch() as sw:
            function()
        times.append(sw.seconds * 1000)
    return statistics.median(times)


def run(scale: str) -> list[Result]:
    from django.utils import timezone

    from notices.selectors.stats import refresh_snapshots, time_to_removal, ttr_stats

    n = SIZES[scale]
    reset_database()
    log(f"P5: loading {n:,} removed items")
    load_removed_items(n)
    now = timezone.now()
    durations = refresh_snapshots(now=now)
    log(f"P5: scheduled recomputation took {durations} ms (the raw query per grouping)")
    results = []
    for group_by in ("provider", "country"):
        served = _median_ms(lambda g=group_by: time_to_removal(group_by=g, now=now), REPEATS)
        raw = _median_ms(lambda g=group_by: ttr_stats(group_by=g, now=now), 2 if scale == "full" else 3)
        log(f"P5 {group_by}: served {served:.1f} ms, raw query {raw:.0f} ms")
        results.append(
            Result.compare(
                id="P5",
                name=f"TTR stats over removed items by {group_by} (ms)",
                value=served,
                unit="ms",
                better="lower",
                target="< 250 ms",
                baseline="raw query (ttr_stats)",
                baseline_value=raw,
                scale=scale,
                n=n,
            )
        )
    reset_database()
    return results
