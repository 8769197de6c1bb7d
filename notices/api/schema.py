"""The published OpenAPI schema's shared parts: every error answer an operation can give, documented.

drf-spectacular documents the answers a view declares; the errors that authentication, permissions, the
throttle, the parsers and the exception handler give every operation (INTERFACES.md "HTTP": 400, 401, 403,
404, 405, 406, 409, 413, 415, 429, 503) are added here, each with the one error shape — `{"detail": …}` or
field errors `{"field": ["message", …]}`, nested as the fields are — so a client (and the schemathesis run
in the tests) can check any answer against the schema.
"""

from __future__ import annotations

ERROR_RESPONSES = {
    "400": "Bad request: field errors, a malformed body or an unknown query parameter.",
    "401": "No key, or an invalid or revoked one (with `WWW-Authenticate: Bearer`).",
    "403": "The key's scope or its user's role does not allow this request.",
    "404": "No such object, or one that belongs to someone else.",
    "405": "The method is not allowed here.",
    "406": "No acceptable representation for the Accept header.",
    "409": "The request conflicts with the object's state.",
    "413": "The body is too large.",
    "415": "The body's Content-Type is not accepted here.",
    "429": "Too many requests: retry after `Retry-After` seconds.",
    "503": "A dependency (database, broker) is unavailable: retry after `Retry-After` seconds.",
}
ERROR_SCHEMA = {
    "type": "object",
    "description": (
        '`{"detail": "…"}`, or field errors `{"field": ["message", …]}` (nested for nested fields).'
    ),
    "additionalProperties": {},
}
METHODS = ("get", "put", "post", "patch", "delete")


def add_error_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: the shared Error component and every error answer on every
    API operation that does not document that status itself."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    json_error = {"schema": {"$ref": "#/components/schemas/Error"}}
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for method in METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            types = {"application/json": json_error}
            if any("text/csv" in answer.get("content", {}) for answer in responses.values()):
                types["text/csv"] = {"schema": {"type": "string"}}  # a CSV export's errors are CSV too
            for code, description in ERROR_RESPONSES.items():
                responses.setdefault(code, {"description": description, "content": dict(types)})
    return result
