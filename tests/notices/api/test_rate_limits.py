"""The API's request limits (notices/api/auth.py, notices/infra/ratelimit.py): per key and, for requests
without a valid key, per client address; 429 with Retry-After in the API's error shape; one statement per
request, none once a process knows the address is refused; shared by two real web processes."""

from __future__ import annotations

import http.client
import json
from itertools import cycle

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from notices.models import Partner
from notices.services.keys import create_api_key

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("whole_rate_window")]  # fixed windows

WRONG_KEY = "tt_0123abcd_" + "x" * 43  # well-formed: it costs a lookup the first time
THROTTLED = "Request was throttled. Expected available in"


def _report(client, i: int, **extra):
    return client.post(
        "/api/v1/reports/", {"url": f"http://files.limits.example/{i}.html"}, format="json", **extra
    )


def _retry_after(response) -> int:
    assert response.status_code == 429
    assert response.json()["detail"].startswith(THROTTLED)
    assert set(response.json()) == {"detail"}
    return int(response["Retry-After"])


def test_a_key_over_its_rate_gets_429_with_retry_after(partner_api, settings):
    settings.API_THROTTLE_RATE = "3/hour"
    assert [_report(partner_api, i).status_code for i in range(3)] == [201, 201, 201]
    assert 1 <= _retry_after(_report(partner_api, 3)) <= 3600
    other = APIClient()
    other.credentials(
        HTTP_AUTHORIZATION=f"Bearer {create_api_key(scope='partner', partner=partner_api.key.partner)[1]}"
    )
    assert _report(other, 4).status_code == 201  # another key of the same partner counts for itself


def test_missing_and_wrong_keys_are_limited_per_client_address(api_client, settings):
    settings.API_ANON_THROTTLE_RATE = "3/hour"
    statuses = [
        _report(api_client, 0).status_code,  # no key
        _report(api_client, 1, HTTP_AUTHORIZATION="Bearer nonsense").status_code,  # malformed
        _report(api_client, 2, HTTP_AUTHORIZATION=f"Bearer {WRONG_KEY}").status_code,  # wrong
    ]
    assert statuses == [401, 401, 401]
    assert 1 <= _retry_after(_report(api_client, 3, HTTP_AUTHORIZATION=f"Bearer {WRONG_KEY}")) <= 3600
    assert _retry_after(_report(api_client, 4))  # no key either
    elsewhere = _report(api_client, 5, HTTP_AUTHORIZATION=f"Bearer {WRONG_KEY}", REMOTE_ADDR="192.0.2.99")
    assert elsewhere.status_code == 401


def test_an_address_over_its_limit_is_refused_before_any_key_lookup(partner_api, api_client, settings):
    settings.API_ANON_THROTTLE_RATE = "2/hour"
    for _ in range(3):
        api_client.get("/api/v1/urls/", HTTP_AUTHORIZATION=f"Bearer {WRONG_KEY}")
    with CaptureQueriesContext(connection) as queries:
        refused = api_client.get("/api/v1/urls/", HTTP_AUTHORIZATION=f"Bearer {WRONG_KEY}")
        with_key = _report(partner_api, 1)  # the same address (127.0.0.1): a valid key is refused too
    assert _retry_after(refused) and _retry_after(with_key)
    assert queries.captured_queries == []  # this process was told: no lookup, no counting


def test_every_process_refuses_a_valid_key_from_an_address_over_its_limit(partner_api, api_client, settings):
    """Another process never saw the refusals: the key's one statement reads the address's count too."""
    from notices.infra import ratelimit

    settings.API_ANON_THROTTLE_RATE = "2/hour"
    for _ in range(3):
        api_client.get("/api/v1/urls/")
    ratelimit._refused_until.clear()  # as in a process that did not answer those requests
    assert _retry_after(_report(partner_api, 1))


def test_a_request_costs_one_statement_for_the_limits(partner_api, api_client):
    def limit_statements(send) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            send()
        return [q["sql"] for q in queries.captured_queries if "ratecounter" in q["sql"]]

    with_key = limit_statements(lambda: _report(partner_api, 1))
    without = limit_statements(lambda: api_client.get("/api/v1/urls/"))
    assert len(with_key) == len(without) == 1
    assert "ON CONFLICT" in with_key[0] and "RETURNING" in with_key[0]


def test_a_malformed_key_is_refused_without_a_lookup(api_client):
    with CaptureQueriesContext(connection) as queries:
        assert api_client.get("/api/v1/urls/", HTTP_AUTHORIZATION="Bearer not-a-key").status_code == 401
    assert not [q for q in queries.captured_queries if "notices_apikey" in q["sql"]]


def test_the_schema_counts_per_address(api_client, settings):
    settings.API_ANON_THROTTLE_RATE = "2/hour"
    assert [api_client.get("/api/schema/?format=json").status_code for _ in range(2)] == [200, 200]
    assert _retry_after(api_client.get("/api/schema/?format=json"))


# --- Two web processes --------------------------------------------------------------------------------------


def _post(port: int, key: str | None, i: int, address: str) -> tuple[int, dict, dict]:
    headers = {"Content-Type": "application/json", "X-Forwarded-For": address}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        body = json.dumps({"url": f"http://files{i}.limits.example/a.html"})
        connection_.request("POST", "/api/v1/reports/", body=body, headers=headers)
        response = connection_.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read() or b"{}")
    finally:
        connection_.close()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_limits_are_shared_by_two_web_processes(start_web):
    env = {"API_THROTTLE_RATE": "4/day", "API_ANON_THROTTLE_RATE": "3/day", "TRUST_PROXY_HEADERS": "true"}
    ports = [start_web(**env).port, start_web(**env).port]
    partner = Partner.objects.create(name="Two-process partner")
    key = create_api_key(scope="partner", partner=partner)[1]
    answers = [_post(port, key, i, "203.0.113.1") for i, port in zip(range(6), cycle(ports))]
    assert [status for status, _, _ in answers] == [201, 201, 201, 201, 429, 429]
    for _, headers, body in answers[4:]:
        assert 1 <= int(headers["Retry-After"]) <= 86400
        assert body["detail"].startswith(THROTTLED)
    bad = [_post(port, WRONG_KEY, i, "192.0.2.10")[0] for i, port in zip(range(5), cycle(ports))]
    assert bad == [401, 401, 401, 429, 429]
    other_key = create_api_key(scope="partner", partner=partner)[1]
    assert [_post(port, other_key, 9, "192.0.2.10")[0] for port in ports] == [429, 429]  # that address
    assert [_post(port, None, 10, "192.0.2.11")[0] for port in ports] == [401, 401]  # another address
