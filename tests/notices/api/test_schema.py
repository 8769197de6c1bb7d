"""The published contract: /api/schema/ (OpenAPI 3), /api/docs/, and the /healthz and /readyz probes."""

from __future__ import annotations

import pytest

from notices.enums import CheckOutcome, NoticeStatus, ResponseAction, UrlStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(api_client):
    response = api_client.get("/api/schema/?format=json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return response.json()


def _enums(node) -> list[list]:
    """Every `enum` list anywhere in the schema."""
    found, stack = [], [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("enum"), list):
                found.append(item["enum"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def test_schema_lists_the_fixed_paths(schema):
    assert schema["openapi"].startswith("3.")
    for path in [
        "/api/v1/reports/",
        "/api/v1/reports/bulk/",
        "/api/v1/urls/",
        "/api/v1/urls/{id}/",
        "/api/v1/urls/{id}/assess/",
        "/api/v1/urls/{id}/trace/",
        "/api/v1/notices/",
        "/api/v1/notices/{reference}/",
        "/api/v1/notices/{reference}/send/",
        "/api/v1/providers/",
        "/api/v1/stats/time-to-removal/",
        "/api/v1/provider/notices/",
        "/api/v1/provider/notices/{reference}/",
        "/api/v1/provider/notices/{reference}/responses/",
    ]:
        assert path in schema["paths"], path
    assert set(schema["paths"]["/api/v1/reports/"]) == {"post"}
    assert set(schema["paths"]["/api/v1/notices/"]) == {"get", "post"}


@pytest.mark.parametrize(
    "enum", [UrlStatus, NoticeStatus, ResponseAction, CheckOutcome], ids=lambda e: e.__name__
)
def test_schema_publishes_state_enum(schema, enum):
    assert [e for e in _enums(schema) if set(e) - {"", None} == set(enum.values)] != []


def test_schema_bulk_accepts_json_and_csv(schema):
    content = schema["paths"]["/api/v1/reports/bulk/"]["post"]["requestBody"]["content"]
    assert set(content) == {"application/json", "text/csv"}


def test_schema_declares_bearer_auth(schema):
    assert schema["components"]["securitySchemes"]["bearerKey"]["type"] == "http"
    assert schema["components"]["securitySchemes"]["bearerKey"]["scheme"] == "bearer"
    assert schema["paths"]["/api/v1/reports/"]["post"]["security"] == [{"bearerKey": []}]


def test_schema_yaml_by_default(api_client):
    response = api_client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/reports/bulk/" in response.content


def test_docs_page_served(api_client):
    response = api_client.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_healthz_ok(api_client):
    response = api_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_and_broker(api_client):
    response = api_client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
