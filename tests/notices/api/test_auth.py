"""Bearer keys and scopes on every REST endpoint (notices/api/auth.py, INTERFACES.md "Auth")."""

from __future__ import annotations

import pytest
from django.utils import timezone

from notices.api.urls import v1
from notices.models import ApiKey, Partner

NO_CREDENTIALS = {"detail": "Authentication credentials were not provided."}
BAD_HEADER = {"detail": "Invalid Authorization header: use 'Bearer KEY'."}
BAD_KEY = {"detail": "Invalid or revoked API key."}
NEEDS = {
    "staff": {"detail": "This endpoint needs a staff (user) API key."},
    "partner_or_staff": {"detail": "This endpoint needs a partner or staff API key."},
    "provider": {"detail": "This endpoint needs a provider API key."},
    "inbound": {
        "detail": "This endpoint needs an inbound-mail API key (create_api_key --user NAME --inbound-mail)."
    },
    "blocklist": {
        "detail": "This endpoint needs a blocking-list API key "
        "(create_api_key --partner NAME --blocklist hashes)."
    },
}

# Every route of notices/api/urls.py `v1`: (route name, method, path, who may call it).
ENDPOINTS = [
    ("report-create", "post", "/api/v1/reports/", "partner_or_staff"),
    ("report-bulk", "post", "/api/v1/reports/bulk/", "partner_or_staff"),
    ("url-list", "get", "/api/v1/urls/", "staff"),
    ("url-detail", "get", "/api/v1/urls/1/", "staff"),
    ("url-assess", "post", "/api/v1/urls/1/assess/", "staff"),
    ("url-trace", "post", "/api/v1/urls/1/trace/", "staff"),
    ("url-close", "post", "/api/v1/urls/1/close/", "staff"),
    ("url-reopen", "post", "/api/v1/urls/1/reopen/", "staff"),
    ("notice-list", "get", "/api/v1/notices/", "staff"),
    ("notice-list", "post", "/api/v1/notices/", "staff"),
    ("notice-detail", "get", "/api/v1/notices/TN-2026-000001/", "staff"),
    ("notice-send", "post", "/api/v1/notices/TN-2026-000001/send/", "staff"),
    ("notice-withdraw", "post", "/api/v1/notices/TN-2026-000001/withdraw/", "staff"),
    ("provider-list", "get", "/api/v1/providers/", "staff"),
    ("stats-ttr", "get", "/api/v1/stats/time-to-removal/?group_by=provider", "staff"),
    ("stats-yearly", "get", "/api/v1/stats/yearly/?year=2025", "staff"),
    ("stats-transparency", "get", "/api/v1/stats/transparency/?year=2025", "staff"),
    ("stats-trusted-flagger", "get", "/api/v1/stats/trusted-flagger-report/?year=2025", "staff"),
    ("report-receipt", "get", "/api/v1/reports/rcpt_unknown/", "partner_or_staff"),
    ("exchange-cases", "get", "/api/v1/exchange/cases/", "staff"),
    ("tdb-statements", "get", "/api/v1/statements/", "staff"),
    ("provider-scorecard", "get", "/api/v1/providers/polder/scorecard/", "staff"),
    ("provider-notice-list", "get", "/api/v1/provider/notices/", "provider"),
    ("provider-notice-detail", "get", "/api/v1/provider/notices/TN-2026-000001/", "provider"),
    ("provider-response-create", "post", "/api/v1/provider/notices/TN-2026-000001/responses/", "provider"),
    ("provider-statements", "get", "/api/v1/provider/notices/TN-2026-000001/statements/", "provider"),
    ("inbound-mail", "post", "/api/v1/inbound/mail/", "inbound"),
    ("url-holds", "get", "/api/v1/urls/1/holds/", "staff"),
    ("url-holds", "post", "/api/v1/urls/1/holds/", "staff"),
    ("hold-clear", "post", "/api/v1/holds/1/clear/", "staff"),
    ("notice-order", "get", "/api/v1/notices/TN-2026-000001/order/", "staff"),
    ("notice-order", "post", "/api/v1/notices/TN-2026-000001/order/", "staff"),
    ("notice-order-pause", "post", "/api/v1/notices/TN-2026-000001/order/pause/", "staff"),
    ("notice-order-resume", "post", "/api/v1/notices/TN-2026-000001/order/resume/", "staff"),
    ("blocklist", "get", "/api/v1/blocklist/", "blocklist"),
]
ENDPOINT_IDS = [f"{method} {name}" for name, method, _, _ in ENDPOINTS]
WRONG_SCOPES = {
    "staff": ["partner", "provider"],
    "partner_or_staff": ["provider"],
    "provider": ["partner", "staff"],
    "inbound": ["partner", "provider", "staff"],
    "blocklist": ["partner", "provider", "staff"],
}


def _call(client, method: str, path: str, **extra):
    if method == "post":
        return client.post(path, {}, format="json", **extra)
    return client.get(path, **extra)


@pytest.fixture
def clients(key_client, analyst, provider):
    """One client per scope (keys of one partner, one provider, one staff user)."""
    return {
        "partner": key_client(scope="partner", partner=Partner.objects.create(name="Partner Hotline")),
        "provider": key_client(scope="provider", provider=provider),
        "staff": key_client(scope="user", user=analyst),
        "inbound": key_client(scope="inbound", user=analyst),
        "blocklist": key_client(scope="blocklist", partner=Partner.objects.create(name="Blocking ISP")),
    }


def _right_scope(allowed: str) -> str:
    return allowed if allowed in {"provider", "inbound", "blocklist"} else "staff"


def test_endpoint_table_covers_every_route():
    assert {name for name, *_ in ENDPOINTS} == {route.name for route in v1}


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "path", "allowed"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_endpoint_without_key_is_401_with_bearer_challenge(api_client, name, method, path, allowed):
    response = _call(api_client, method, path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == NO_CREDENTIALS


BAD_HEADERS = [
    ("Bearer", BAD_HEADER),
    ("Bearer two parts", BAD_HEADER),
    ("Bearer not-a-key", BAD_KEY),
    ("Bearer tt_00000000_unknownunknownunknown", BAD_KEY),
    ("Bearer tt_\u00e4\u00e4\u00e4\u00e4\u00e4\u00e4\u00e4\u00e4_x", {"detail": "Invalid API key."}),
    ("Basic dXNlcjpwYXNzd29yZA==", NO_CREDENTIALS),
    ("Token 0123456789abcdef", NO_CREDENTIALS),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "path", "allowed"), ENDPOINTS, ids=ENDPOINT_IDS)
@pytest.mark.parametrize(("header", "body"), BAD_HEADERS, ids=[h for h, _ in BAD_HEADERS])
def test_endpoint_with_malformed_or_unknown_key_is_401(api_client, name, method, path, allowed, header, body):
    response = _call(api_client, method, path, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == body


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "path", "allowed"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_endpoint_with_revoked_key_is_401(clients, name, method, path, allowed):
    from notices.services.keys import revoke_api_key

    client = clients[_right_scope(allowed)]
    revoke_api_key(key=client.key)
    response = _call(client, method, path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == BAD_KEY


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "path", "allowed"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_endpoint_with_key_of_a_second_secret_with_same_prefix_is_401(
    clients, api_client, name, method, path, allowed
):
    forged = f"tt_{clients[_right_scope(allowed)].key.prefix}_{'A' * 43}"
    response = _call(api_client, method, path, HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert response.status_code == 401
    assert response.json() == BAD_KEY


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "method", "path", "allowed", "scope"),
    [(*e, scope) for e in ENDPOINTS for scope in WRONG_SCOPES[e[3]]],
    ids=[
        f"{i} as {scope}"
        for e, i in zip(ENDPOINTS, ENDPOINT_IDS, strict=True)
        for scope in WRONG_SCOPES[e[3]]
    ],
)
def test_endpoint_with_key_of_wrong_scope_is_403(clients, name, method, path, allowed, scope):
    response = _call(clients[scope], method, path)
    assert response.status_code == 403
    assert response.json() == NEEDS[allowed]


STAFF_ENDPOINTS = [e for e in ENDPOINTS if e[3] in {"staff", "partner_or_staff"}]
STAFF_IDS = [i for e, i in zip(ENDPOINTS, ENDPOINT_IDS, strict=True) if e in STAFF_ENDPOINTS]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "path", "allowed"), STAFF_ENDPOINTS, ids=STAFF_IDS)
@pytest.mark.parametrize("change", ["no_longer_staff", "inactive"])
def test_endpoint_with_key_of_demoted_or_inactive_user_is_401(
    clients, analyst, name, method, path, allowed, change
):
    if change == "no_longer_staff":
        analyst.is_staff = False
    else:
        analyst.is_active = False
    analyst.save()
    response = _call(clients["staff"], method, path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == BAD_KEY


@pytest.mark.django_db
def test_scope_refusal_same_for_existing_and_unknown_notice(clients, sent_notice):
    existing = clients["provider"].get(f"/api/v1/notices/{sent_notice.reference}/")
    unknown = clients["provider"].get("/api/v1/notices/TN-2099-999999/")
    assert (existing.status_code, existing.json()) == (403, NEEDS["staff"])
    assert (unknown.status_code, unknown.json()) == (403, NEEDS["staff"])


@pytest.mark.django_db
def test_bearer_keyword_case_insensitive(clients, api_client):
    response = api_client.get("/api/v1/providers/", HTTP_AUTHORIZATION=f"bearer {clients['staff'].plaintext}")
    assert response.status_code == 200


@pytest.mark.django_db
def test_key_use_stamps_last_used_at(clients):
    before = timezone.now()
    assert clients["staff"].get("/api/v1/providers/").status_code == 200
    key = ApiKey.objects.get(pk=clients["staff"].key.pk)
    assert key.last_used_at is not None
    assert before <= key.last_used_at <= timezone.now()


@pytest.mark.django_db
def test_failed_auth_leaves_last_used_at_unset(clients):
    from notices.services.keys import revoke_api_key

    revoke_api_key(key=clients["staff"].key)
    assert clients["staff"].get("/api/v1/providers/").status_code == 401
    assert ApiKey.objects.get(pk=clients["staff"].key.pk).last_used_at is None
