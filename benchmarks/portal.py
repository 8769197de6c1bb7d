"""P12 — the provider portal's notice list with 10,000 notices for one provider: server time and query count.

The request goes through Django's whole stack in-process (middleware, session, auth, the scoped selector, the
template, the audit row), with a signed-in provider user, so what is measured is what the web process spends
on `GET /portal/`. Baselines measured in the same run on the same data:

- the bare page query in raw SQL (the floor: one index scan of 50 rows);
- the naive ORM list (`annotate(Count(items))` over the provider's notices, then the page), which makes
  PostgreSQL count the items of every notice before it can take the newest 50.

Notices carry 1–3 URLs each (reserved names only), a fifth of them live at their last check.
"""

from __future__ import annotations

import statistics

from benchmarks.harness import Result, Stopwatch, log

NOTICES = {"small": 10_000, "full": 10_000}
REQUESTS = {"small": 20, "full": 50}
TARGET = "< 150 ms"


def _populate(n: int):
    """One provider with `n` sent notices and their URLs, inserted in bulk."""
    import hashlib

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from notices.models import HostingProvider, Notice, NoticeItem, ProviderMembership, Url

    now = timezone.now()
    provider = HostingProvider.objects.create(
        slug="bench-hosting",
        name="Bench Hosting",
        country="NL",
        time_zone="Europe/Amsterdam",
        channel="api_only",
    )
    notices = Notice.objects.bulk_create(
        Notice(
            reference=f"TN-2026-{i:06d}",
            provider=provider,
            status="sent" if i % 4 else "closed",
            created_at=now,
            sent_at=now,
            deadline_at=now + timezone.timedelta(hours=24),
        )
        for i in range(1, n + 1)
    )
    urls, links = [], []
    for i, notice in enumerate(notices):
        for j in range(1 + i % 3):
            canonical = f"http://files{i % 500}.bench.example/{i}/{j}.html"
            urls.append(
                Url(
                    original=canonical,
                    canonical=canonical,
                    host=f"files{i % 500}.bench.example",
                    canonical_hash=hashlib.sha256(canonical.encode()).digest(),
                    status="notified",
                    first_reported_at=now,
                    last_outcome="live" if (i + j) % 5 == 0 else "gone",
                )
            )
            links.append(notice)
    urls = Url.objects.bulk_create(urls, batch_size=5000)
    NoticeItem.objects.bulk_create(
        (
            NoticeItem(
                notice=notice, url=url, provider_id_copy=provider.pk, is_open=notice.status != "closed"
            )
            for notice, url in zip(links, urls, strict=True)
        ),
        batch_size=5000,
    )
    user, _ = get_user_model().objects.get_or_create(username="bench-desk")
    ProviderMembership.objects.filter(user=user).delete()
    ProviderMembership.objects.create(user=user, provider=provider, is_admin=True)
    return provider, user


def _time(fn, repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        with Stopwatch() as sw:
            fn()
        samples.append(sw.seconds * 1000)
    return samples


def run(scale: str) -> list[Result]:
    from django.db import connection
    from django.db.models import Count, Q
    from django.test import Client

    from notices.selectors.notices import notices_for_provider

    n, repeats = NOTICES[scale], REQUESTS[scale]
    log(f"P12: {n:,} notices for one provider")
    provider, user = _populate(n)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    client = Client()
    client.force_login(user)

    def portal_list():
        response = client.get("/portal/")
        assert response.status_code == 200 and b"TN-2026-0" in response.content

    def raw_page():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, reference, status, sent_at, deadline_at FROM notices_notice "
                "WHERE provider_id = %s ORDER BY id DESC LIMIT 50",
                [provider.pk],
            )
            cursor.fetchall()

    def naive_orm():
        qs = notices_for_provider(provider).annotate(
            url_count=Count("items"), still_live=Count("items", filter=Q(items__url__last_outcome="live"))
        )
        list(qs.order_by("-id")[:50])

    for fn in (portal_list, raw_page, naive_orm):  # warm caches and connections
        fn()
    queries: list[str] = []  # request_started resets connection.queries, so count with an execute wrapper

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        portal_list()
    value = statistics.median(_time(portal_list, repeats))
    floor = statistics.median(_time(raw_page, repeats))
    naive = statistics.median(_time(naive_orm, repeats))
    log(
        f"P12: GET /portal/ median {value:.1f} ms, {len(queries)} queries; raw page {floor:.2f} ms; "
        f"naive ORM page {naive:.1f} ms"
    )
    name = f"portal notice list, {n:,} notices (server ms, {len(queries)} queries)"
    common = {
        "id": "P12",
        "name": name,
        "value": value,
        "unit": "ms",
        "better": "lower",
        "target": TARGET,
        "scale": scale,
        "n": n,
    }
    return [
        Result.compare(baseline="raw SQL page query", baseline_value=floor, **common),
        Result.compare(baseline="naive ORM list (annotate Count)", baseline_value=naive, **common),
    ]
