"""Idempotency-Key on report submission: a retry gets the first answer, never a second report."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from notices.models import IdempotentRequest, Partner, Report
from tests.conftest import _key_client

pytestmark = pytest.mark.django_db

BODY = {"url": "http://files.example/retry.jpg", "external_ref": "t-1"}


def _post(client, body, key, path="/api/v1/reports/"):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_same_key_and_body_returns_the_first_answer_and_records_once(partner_api):
    first = _post(partner_api, BODY, "k-1")
    again = _post(partner_api, BODY, "k-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Report.objects.count() == 1


def test_same_key_with_another_body_is_a_conflict(partner_api):
    _post(partner_api, BODY, "k-2")
    response = _post(partner_api, {**BODY, "external_ref": "t-2"}, "k-2")

    assert response.status_code == 409
    assert "used for a different request" in response.json()["detail"]
    assert Report.objects.count() == 1


def test_keys_are_scoped_per_partner(partner_api):
    other = _key_client(scope="partner", partner=Partner.objects.create(name="Other Hotline"))
    mine, theirs = _post(partner_api, BODY, "shared-key"), _post(other, BODY, "shared-key")

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["receipt"] != theirs.json()["receipt"]
    assert Report.objects.count() == 2


def test_a_refused_request_leaves_its_key_unused(partner_api):
    bad = _post(partner_api, {"url": "not a url"}, "k-3")
    good = _post(partner_api, BODY, "k-3")

    assert (bad.status_code, good.status_code) == (400, 201)
    assert IdempotentRequest.objects.get().status_code == 201


def test_bulk_retry_returns_the_same_results(partner_api):
    body = [{"url": "http://files.example/b1.jpg"}, {"url": "bad"}, {"url": "http://files.example/b2.jpg"}]
    first = _post(partner_api, body, "bulk-1", path="/api/v1/reports/bulk/")
    again = _post(partner_api, body, "bulk-1", path="/api/v1/reports/bulk/")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json() and first.json()["accepted"] == 2
    assert Report.objects.count() == 2
    other_path = _post(partner_api, body, "bulk-1")  # the key names the bulk request, not a single one
    assert other_path.status_code == 409


def test_a_malformed_key_is_a_400(partner_api):
    response = _post(partner_api, BODY, "has space")
    assert response.status_code == 400
    assert "visible ASCII" in response.json()["detail"]
    assert _post(partner_api, BODY, "x" * 201).status_code == 400


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_make_exactly_one_report():
    partner = Partner.objects.create(name="Racing Hotline")
    clients = [_key_client(scope="partner", partner=partner) for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    answers = []

    def submit(client):
        barrier.wait()
        try:
            response = _post(client, BODY, "race-1")
            answers.append((response.status_code, response.json()["receipt"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(answers) == len(clients)
    assert {code for code, _ in answers} == {201}
    assert len({receipt for _, receipt in answers}) == 1
    assert Report.objects.count() == 1
