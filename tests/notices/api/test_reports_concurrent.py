"""Twenty partners' posts of one URL at the same moment, each in its own database connection, make one case
and twenty reports (the unique canonical hash and INSERT … ON CONFLICT DO NOTHING, services/intake.py)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from notices.models import Event, Report, Url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

SPELLINGS = [
    "http://files.polder.example/same.html",
    "HTTP://FILES.polder.example:80/same.html",
    "http://files.polder.example/./x/../same.html#top",
    "http://files.polder.example//%73ame.html",
]


def test_twenty_concurrent_posts_of_one_url_make_one_case(partner_api):
    barrier = threading.Barrier(20)
    answers: list = [None] * 20

    def post(n: int) -> None:
        client = APIClient()  # a client per thread, with the partner's key
        client.credentials(**partner_api._credentials)
        try:
            barrier.wait(timeout=30)
            body = {"url": SPELLINGS[n % len(SPELLINGS)], "external_ref": f"t-{n}"}
            answers[n] = client.post("/api/v1/reports/", body, format="json")
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=post, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [a.status_code for a in answers] == [201] * 20
    case = Url.objects.get()
    assert case.canonical == "http://files.polder.example/same.html"
    assert {a.json()["url"]["id"] for a in answers} == {case.pk}
    assert sorted(a.json()["duplicate"] for a in answers) == [False] + [True] * 19
    assert Report.objects.filter(url=case).count() == 20
    assert Event.objects.filter(kind="url.created", url=case).count() == 1


def test_twenty_concurrent_bulk_posts_naming_one_url_make_one_case(partner_api):
    """The same through the staged bulk path (batches of STAGE_MIN_ITEMS or more): each post names the
    shared URL in every spelling among URLs of its own."""
    from notices.services.intake import STAGE_MIN_ITEMS

    barrier = threading.Barrier(20)
    answers: list = [None] * 20

    def post(n: int) -> None:
        client = APIClient()
        client.credentials(**partner_api._credentials)
        own = [{"url": f"http://post{n}.polder.example/{i}"} for i in range(STAGE_MIN_ITEMS)]
        try:
            barrier.wait(timeout=30)
            body = [*own[:10], *({"url": spelling} for spelling in SPELLINGS), *own[10:]]
            answers[n] = client.post("/api/v1/reports/bulk/", body, format="json")
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [a.status_code for a in answers] == [200] * 20
    case = Url.objects.get(canonical="http://files.polder.example/same.html")
    shared = [r for a in answers for r in a.json()["results"][10 : 10 + len(SPELLINGS)]]
    assert {r["url"]["id"] for r in shared} == {case.pk}
    assert sorted(r["duplicate"] for r in shared) == [False] + [True] * (20 * len(SPELLINGS) - 1)
    assert Url.objects.count() == 1 + 20 * STAGE_MIN_ITEMS
    assert Report.objects.filter(url=case).count() == 20 * len(SPELLINGS)
    assert Event.objects.filter(kind="url.created").count() == Url.objects.count()
