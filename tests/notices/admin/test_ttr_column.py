"""The case list's time-to-removal column and the case page's removal line keep the bounds' precision:
distinct bounds never read alike, equal ones are one value (notices/templatetags/tracker.py
`duration_bounds`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from notices.models import Url
from notices.templatetags.tracker import duration_bounds

MIN, HOUR, DAY = 60, 3600, 86400


@pytest.mark.parametrize(
    ("low", "high", "shown"),
    [
        (2 * DAY + 3 * HOUR + 10 * MIN, 2 * DAY + 3 * HOUR + 12 * MIN, "2 d 3 h 10 min – 2 d 3 h 12 min"),
        (2 * DAY + 50 * MIN, 2 * DAY + 52 * MIN, "2 d 50 min – 2 d 52 min"),  # was "2.0 d – 2.0 d"
        (2 * DAY + 100, 2 * DAY + 130, "2 d 1 min 40 s – 2 d 2 min 10 s"),  # seconds apart
        (3 * DAY, 3 * DAY + 2 * HOUR, "3 d – 3 d 2 h"),  # hours apart: hours are enough
        (3 * DAY + 20 * MIN, 4 * DAY + 5 * HOUR + 40 * MIN, "3 d – 4 d 6 h"),  # rounded outwards
        (HOUR, 2 * HOUR, "1 h – 2 h"),
        (20_000, 30_000, "5 h 33 min – 8 h 20 min"),
        (0, 59, "0 s – 59 s"),
        (2 * DAY, 2 * DAY, "2 d"),  # equal: one value
        (2 * DAY + 3 * HOUR + 10 * MIN, 2 * DAY + 3 * HOUR + 10 * MIN, "2 d 3 h"),
        (45 * MIN, 45 * MIN, "45 min"),
        (0, 0, "0 s"),
    ],
)
def test_duration_bounds(low, high, shown):
    assert duration_bounds(low, high) == shown


def test_distinct_bounds_never_read_alike():
    for base in [0, 90, 7199, 2 * DAY, 9 * DAY + 7 * HOUR]:
        for gap in [1, 59, 60, 61, 3599, 3600, 3601, DAY]:
            low, _, high = duration_bounds(base, base + gap).partition(" – ")
            assert high and low != high, (base, gap)


@pytest.mark.django_db
def test_the_list_column_and_the_case_page(admin_client, make_case, api_only, now):
    case = make_case("http://files.polder.example/ttr.html", provider=api_only, when=now - timedelta(days=5))
    sent = now - timedelta(days=4)
    Url.objects.filter(pk=case.pk).update(
        status="removed",
        first_notice_sent_at=sent,
        ttr_low=2 * DAY + 3 * HOUR + 10 * MIN,
        ttr_high=2 * DAY + 3 * HOUR + 12 * MIN,
        removed_low=sent + timedelta(days=2, hours=3, minutes=10),
        removed_high=sent + timedelta(days=2, hours=3, minutes=12),
    )
    listed = admin_client.get(reverse("admin:notices_url_changelist")).content.decode()
    assert (
        '<td class="field-ttr_display"><span class="nowrap">2 d 3 h 10 min</span> – '
        '<span class="nowrap">2 d 3 h 12 min</span></td>'
    ) in listed
    page = admin_client.get(reverse("admin:notices_url_change", args=[case.pk])).content.decode()
    assert "2 d 3 h 10 min – 2 d 3 h 12 min after the first notice" in page
