"""The admin at a million cases, in behaviour: lists count at most 10,000 rows and say "more than 10,000";
the dashboard cards stop counting at the cap; filters read no distinct values from the large tables."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notices.admin.common import CappedPaginator
from notices.models import Event, Url
from notices.selectors import dashboard
from notices.selectors.timeline import event_kinds

pytestmark = pytest.mark.django_db


def _urls(n: int, **fields) -> None:
    now = timezone.now()
    Url.objects.bulk_create(
        Url(
            original=f"http://h{i}.lists.example/",
            canonical=f"http://h{i}.lists.example/",
            host=f"h{i}.lists.example",
            status=fields.get("status", "new"),
            first_reported_at=now,
            last_outcome=fields.get("last_outcome", ""),
        )
        for i in range(n)
    )


def test_the_url_list_counts_to_the_cap_and_says_more(admin_client, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "COUNT_CAP", 30)
    _urls(31)
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get("/admin/notices/url/").content.decode()
    assert "more than 30" in page
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "notices_url" in q["sql"]]
    assert counts and all("LIMIT" in sql for sql in counts), counts  # never a count of the whole table
    assert not [q["sql"] for q in queries if "DISTINCT" in q["sql"].upper() and "notices_url" in q["sql"]]


def test_below_the_cap_the_list_says_how_many(admin_client, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "COUNT_CAP", 30)
    _urls(12)
    page = admin_client.get("/admin/notices/url/").content.decode()
    assert "12 URLs" in " ".join(page.split()) and "more than" not in page


def test_the_last_check_filter_offers_every_outcome_and_filters(admin_client):
    _urls(3, last_outcome="gone")
    _urls(2, last_outcome="")
    page = admin_client.get("/admin/notices/url/?last_outcome=gone").content.decode()
    assert "never checked" in page
    assert "3 URLs" in " ".join(page.split())
    page = admin_client.get("/admin/notices/url/?last_outcome=none").content.decode()
    assert "2 URLs" in " ".join(page.split())


def test_event_kinds_are_read_by_skipping_through_the_index(admin_client):
    now = timezone.now()
    Event.objects.bulk_create(
        Event(kind=kind, at=now, actor="system") for kind in ["b.two", "a.one", "b.two", "c.three"] * 5
    )
    assert event_kinds() == ["a.one", "b.two", "c.three"]
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get("/admin/notices/event/?kind=b.two").content.decode()
    assert "c.three" in page  # offered as a choice
    assert "10 events" in " ".join(page.split())
    assert not [q["sql"] for q in queries if "SELECT DISTINCT" in q["sql"].upper()]


def test_dashboard_cards_stop_counting_at_the_cap(admin_client, monkeypatch):
    monkeypatch.setattr(dashboard, "COUNT_CAP", 4)
    _urls(6)
    counts = dashboard.queue_counts(now=timezone.now())
    assert counts["new"] == 5 and str(counts["new"]) == "4+" and counts["assessed"] == 0
    assert str(counts["assessed"]) == "0"
    page = admin_client.get("/admin/dashboard/").content.decode()
    assert '<div class="n">4+</div>' in page
