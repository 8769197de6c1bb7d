"""The admin's case search uses its indexes (migration 0034): a host by `url_host_idx`, an IP address by
`trace_ip_idx`, a provider's name by an index on the provider — the plans read, on a modest table, by
EXPLAIN."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone

from notices.models import HostingProvider, HostingTrace, Url

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(300)]

CASES = 6_000
HOSTS = 600


@pytest.fixture
def table(db, analyst):
    now = timezone.now()
    provider = HostingProvider.objects.create(slug="polder", name="Polder Hosting", country="NL")
    urls = Url.objects.bulk_create(
        Url(
            original=f"http://h{n % HOSTS}.polder.example/{n}",
            canonical=f"http://h{n % HOSTS}.polder.example/{n}",
            canonical_hash=hashlib.sha256(str(n).encode()).digest(),
            host=f"h{n % HOSTS}.polder.example",
            first_reported_at=now,
            provider=provider if n % 1000 == 0 else None,
        )
        for n in range(CASES)
    )
    HostingTrace.objects.bulk_create(
        HostingTrace(url=url, traced_at=now, host=url.host, ip=f"198.51.{n % 200}.{n % 250}")
        for n, url in enumerate(urls)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Url._meta.db_table}; ANALYZE {HostingTrace._meta.db_table}")
    return urls


def _plan(analyst, term: str) -> tuple[str, int]:
    """The admin list's query for `term` (its search, newest first, a page): the plan's index names and the
    rows it finds."""
    model_admin = admin.site._registry[Url]
    request = RequestFactory().get("/admin/notices/url/", {"q": term})
    request.user = analyst
    queryset, _ = model_admin.get_search_results(request, Url.objects.all(), term)
    page = queryset.order_by("-pk")[:50]
    plan = json.loads(page.explain(format="json"))
    return json.dumps(plan), len(list(page))


def _seq_scans(plan: str) -> list[str]:
    def walk(node):
        if node.get("Node Type") == "Seq Scan":
            yield node["Relation Name"]
        for child in node.get("Plans", []):
            yield from walk(child)

    return list(walk(json.loads(plan)[0]["Plan"]))


def test_each_search_reads_its_index(table, analyst):
    """One table for the four searches (made once: the fixture is the test's cost)."""
    plan, found = _plan(analyst, "h17.polder.example")  # a host
    assert found == CASES // HOSTS
    assert "url_host_idx" in plan, plan
    assert Url._meta.db_table not in _seq_scans(plan)

    plan, found = _plan(analyst, "198.51.7.7")  # an IP address
    assert found > 0
    assert "trace_ip_idx" in plan, plan
    assert _seq_scans(plan) == []

    plan, found = _plan(analyst, "hxxp://h5[.]polder[.]example/")  # a site's root, pasted defanged
    assert found == CASES // HOSTS
    assert "url_host_idx" in plan and Url._meta.db_table not in _seq_scans(plan)

    plan, found = _plan(analyst, "polder hosting")  # a provider's name: its cases by their provider index
    assert found == CASES // 1000
    assert '"Index Cond": "(provider_id = ' in plan, plan
    assert Url._meta.db_table not in _seq_scans(plan)
