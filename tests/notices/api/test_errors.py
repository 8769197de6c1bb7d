"""Nothing a client sends produces a 500 (INTERFACES.md "Errors"); error bodies keep one shape.

The test client re-raises any exception a view lets through, so a server error fails these tests loudly.
"""

from __future__ import annotations

import json

import pytest

from notices.models import ProviderResponse

pytestmark = pytest.mark.django_db

FIELDS = [
    "url",
    "reported_at",
    "external_ref",
    "notes",
    "hashes",
    "legality",
    "classification",
    "detection_method",
    "media_type",
    "severity",
    "legal_basis",
    "urls",
    "notice_type",
    "deadline_at",
    "send",
    "action",
    "message",
    "statement_of_reasons",
]


def _nested(depth: int, leaf="x") -> str:
    return "[" * depth + json.dumps(leaf) + "]" * depth


# JSON texts (not Python values: lone surrogates and 1e400 cannot be written by json.dumps).
GARBAGE_VALUES = [
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1.5",
    "-0.0",
    "1e400",
    "-1e400",
    "9" * 4000,
    "-" + "9" * 4000,
    '""',
    '" "',
    '"\\u0000"',
    '"a\\u0000b"',
    '"\\ud800"',
    '"\\udfff\\ud800"',
    '"\\u202e\\u200b\\ufeff"',
    json.dumps("💥" * 2000),
    json.dumps("x" * 200_000),
    json.dumps("例え.テスト/パス"),
    '"http://[::1"',
    "[]",
    "{}",
    "[null]",
    "[{}]",
    '[{"algorithm": null, "value": null}]',
    '{"": {"": [null, "\\u0000"]}}',
    '{"a\\u0000": 1}',
    '{"\\ud800": [1e400]}',
    _nested(30),
    _nested(40),
    '"TN-2026-000001"',
    "[1, 1, 1]",
    "[" + ",".join(["9" * 30] * 50) + "]",
    '"2026-02-30T25:61:61Z"',
    '"0001-01-01T00:00:00+14:00"',
    '"9999-12-31T23:59:59-14:00"',
]

RAW_BODIES = [
    "[" * 100_000 + "]" * 100_000,
    '{"a":' * 5000 + "1" + "}" * 5000,
    "{" * 3,
    '{"url": "http://files.polder.example/", "url": 5}',
    "NaN",
    "Infinity",
    "9" * 5000,
    '"\\ud800"',
    "\ufeff{}",
    "[" + "{}," * 1000 + "{}]",
    "\x00",
    '{"url": "http://files.polder.example/"}\x00',
]


@pytest.fixture
def targets(make_case, make_notice, api_only, now):
    """Real objects so requests get past the lookups: an assessed URL, a draft notice, a sent notice."""
    case = make_case("http://files.polder.example/a.html", provider=api_only, when=now)
    sent = make_notice(case, now=now)
    other = make_case("http://files.polder.example/b.html", provider=api_only, when=now)
    draft = make_notice(other, now=now, send=False)
    return case, sent, draft


def _post_endpoints(targets):
    case, sent, draft = targets
    report = {
        "url": "http://files.polder.example/z",
        "reported_at": "2026-01-01T00:00:00Z",
        "external_ref": "r",
        "notes": "n",
        "hashes": [],
    }
    assessment = {
        "legality": "illegal_international",
        "classification": "A1",
        "detection_method": "manual_review",
        "media_type": "image",
        "severity": 1,
        "legal_basis": "",
        "notes": "",
    }
    notice = {
        "urls": [case.pk],
        "notice_type": "hotline_notice",
        "deadline_at": "2030-01-01T00:00:00Z",
        "send": False,
    }
    response = {"action": "need_info", "urls": [case.pk], "message": "?", "statement_of_reasons": {}}
    # (path, client name, a valid body: each of its fields in turn gets each garbage value; None = bulk)
    return [
        ("/api/v1/reports/", "partner", report),
        ("/api/v1/reports/bulk/", "partner", None),
        (f"/api/v1/urls/{case.pk}/assess/", "staff", assessment),
        (f"/api/v1/urls/{case.pk}/trace/", "staff", {}),
        ("/api/v1/notices/", "staff", notice),
        (f"/api/v1/notices/{draft.reference}/send/", "staff", {}),
        (f"/api/v1/provider/notices/{sent.reference}/responses/", "provider", response),
    ]


def _bodies(valid: dict | None) -> list[str]:
    """Raw bodies; each garbage value alone, in every known field at once, and in each field of a valid body
    (for bulk: as items and inside items)."""
    bodies = list(RAW_BODIES)
    for value in GARBAGE_VALUES:
        bodies.append(value)
        bodies.append("{" + ", ".join(f'"{f}": {value}' for f in FIELDS) + "}")
        if valid is None:
            bodies.append(f"[{value}]")
            bodies.append("[" + ", ".join('{"url": ' + value + "}" for _ in range(3)) + "]")
            bodies.append('[{"url": "http://files.polder.example/q", "hashes": ' + value + "}]")
        for field in valid or ():
            merged = json.dumps({k: v for k, v in valid.items() if k != field})
            bodies.append(merged[:-1] + ("," if len(merged) > 2 else "") + f' "{field}": {value}' + "}")
    return bodies


@pytest.mark.parametrize(
    "index", range(7), ids=["reports", "bulk", "assess", "trace", "notices", "send", "responses"]
)
def test_post_endpoint_garbage_never_500(partner_api, staff_api, provider_api, targets, index):
    clients = {"partner": partner_api, "staff": staff_api, "provider": provider_api}
    path, client_name, valid = _post_endpoints(targets)[index]
    client = clients[client_name]
    for body in _bodies(valid):
        response = client.post(path, body.encode("utf-8", "surrogatepass"), content_type="application/json")
        assert response.status_code < 500, (path, body[:200])
        assert response["Content-Type"] == "application/json", (path, body[:200])
        if response.status_code >= 400:
            assert isinstance(response.json(), dict), (path, body[:200])


@pytest.mark.parametrize(
    "content_type",
    [
        "text/csv",
        "application/json; charset=utf-16",
        "application/json; charset=rot13",
        "multipart/form-data",
        "application/x-www-form-urlencoded",
        "",
        "*/*",
        "application/json; charset=x\u00ff",
    ],
)
def test_post_endpoint_odd_content_types_never_500(
    partner_api, staff_api, provider_api, targets, content_type
):
    clients = {"partner": partner_api, "staff": staff_api, "provider": provider_api}
    for path, client_name, _ in _post_endpoints(targets):
        for body in [b'{"url": "http://files.polder.example/"}', b"url\n\x00\xff\n", b"\xff\xfe\x00"]:
            response = clients[client_name].generic("POST", path, body, content_type=content_type)
            assert response.status_code < 500, (path, content_type, body)


def test_csv_garbage_never_500(partner_api):
    for body in [
        b"url\n" + b"\x00" * 10,
        b'url\n"unterminated\n',
        b"url,url\nhttp://a.example/,http://b.example/\n",
        b"url\nhttp://a.example/,extra,fields\n",
        b'url,notes\n"' + b"a" * 200_000 + b'",x\n',
        b"\r\n\r\n",
        b"url\r\n" + "http://例え.テスト/\r\n".encode(),
        b"url,reported_at\nhttp://a.example/,9999-99-99\n",
        b"url\n" + b"\xed\xa0\x80\n",
    ]:
        response = partner_api.post("/api/v1/reports/bulk/", body, content_type="text/csv")
        assert response.status_code < 500, body[:100]


GET_PATHS = [
    "/api/v1/urls/?since={v}",
    "/api/v1/urls/?until={v}",
    "/api/v1/urls/?status={v}",
    "/api/v1/urls/?provider={v}",
    "/api/v1/urls/?country={v}",
    "/api/v1/urls/?cursor={v}",
    "/api/v1/urls/?limit={v}",
    "/api/v1/urls/{v}/",
    "/api/v1/notices/?status={v}",
    "/api/v1/notices/?since={v}",
    "/api/v1/notices/{v}/",
    "/api/v1/stats/time-to-removal/?group_by={v}",
    "/api/v1/stats/time-to-removal/?since={v}",
    "/api/v1/stats/time-to-removal/?notice_type={v}",
    "/api/v1/providers/?cursor={v}",
]
PROVIDER_GET_PATHS = [
    "/api/v1/provider/notices/?status={v}",
    "/api/v1/provider/notices/?since={v}",
    "/api/v1/provider/notices/?cursor={v}",
    "/api/v1/provider/notices/{v}/",
]
QUERY_VALUES = [
    "%00",
    "%FF",
    "%ED%A0%80",
    "9" * 5000,
    "-1",
    "0",
    "%E2%80%AE",
    "a" * 5000,
    "%25",
    "[]",
    "1e400",
]


def test_get_endpoint_garbage_never_500(staff_api, provider_api, targets):
    for client, paths in ((staff_api, GET_PATHS), (provider_api, PROVIDER_GET_PATHS)):
        for template in paths:
            for value in QUERY_VALUES:
                response = client.get(template.format(v=value))
                assert response.status_code < 500, template.format(v=value)[:200]


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/v1/reports/bulk/"), ("put", "/api/v1/urls/{pk}/"), ("delete", "/api/v1/notices/{ref}/"),
     ("patch", "/api/v1/provider/notices/{sent}/responses/"), ("get", "/api/v1/urls/{pk}/assess/")],
)  # fmt: skip
def test_wrong_method_is_405_detail(partner_api, staff_api, provider_api, targets, method, path):
    case, sent, draft = targets
    client = provider_api if "/provider/" in path else partner_api if "reports" in path else staff_api
    response = getattr(client, method)(path.format(pk=case.pk, ref=draft.reference, sent=sent.reference))
    assert response.status_code == 405
    assert response.json() == {"detail": f'Method "{method.upper()}" not allowed.'}


def test_deep_json_is_400_detail(provider_api, targets):
    _, sent, _ = targets
    body = '{"action": "acknowledge", "statement_of_reasons": {"a": ' + _nested(40) + "}}"
    response = provider_api.post(
        f"/api/v1/provider/notices/{sent.reference}/responses/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - nested deeper than 32 levels."}
    assert ProviderResponse.objects.count() == 0


def test_json_within_depth_limit_is_accepted(provider_api, targets):
    _, sent, _ = targets
    reasons = json.loads(_nested(25))
    response = provider_api.post(
        f"/api/v1/provider/notices/{sent.reference}/responses/",
        {"action": "acknowledge", "statement_of_reasons": {"a": reasons}},
        format="json",
    )
    assert response.status_code == 201
    assert ProviderResponse.objects.get().statement_of_reasons == {"a": reasons}


def test_very_deep_json_is_400_detail(partner_api):
    response = partner_api.post(
        "/api/v1/reports/", "[" * 100_000 + "]" * 100_000, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - nested deeper than 32 levels."}


def test_api_unknown_route_is_json_404(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
