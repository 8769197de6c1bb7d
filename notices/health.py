"""Liveness and readiness probes, the front page that points people to the right place, and the answer while a
dependency is away: 503 with Retry-After, never a 500.

While PostgreSQL or the broker cannot be reached, a request that needs it gets **503 Service Unavailable**
with `Retry-After: UNAVAILABLE_RETRY_AFTER` — JSON `{"detail": …}` under `/api/` (the API's error shape),
a short page elsewhere — whether the error came out of a view (`DependencyUnavailableMiddleware`) or out of a
middleware before it (`server_error` looks at the exception being handled). Nothing about the error itself is
shown. Connections are checked before reuse (`CONN_HEALTH_CHECKS`), so once the database is back every
request succeeds again by itself, none failing on a connection the restart killed.
"""

from __future__ import annotations

import logging
import sys

import kombu.exceptions
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error

from tracker.celery import app


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database_ok() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:
        return f"fail: {exc.__class__.__name__}"


def _broker_ok() -> str:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:
        return f"fail: {exc.__class__.__name__}"


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    ok = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ok else "fail", "checks": checks}, status=200 if ok else 503)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "notices/home.html")


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    """404 as JSON under /api/ (API clients parse errors), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)

    return page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """500 as JSON under /api/; a plain page elsewhere. Never the traceback. An unreachable database or
    broker (an error raised by a middleware, out of the view middleware's reach) is a 503 instead."""
    dependency = unavailable_dependency(sys.exc_info()[1])
    if dependency is not None:
        return unavailable(request, dependency)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal error; it has been logged."}, status=500)

    return default_server_error(request)


logger = logging.getLogger(__name__)


def unavailable_dependency(exc: BaseException | None) -> str | None:
    """ "database" or "broker" when `exc` says that dependency cannot be reached, else None. A database error
    counts when it is about the connection (OperationalError, InterfaceError), not a query's fault."""
    if isinstance(exc, OperationalError | InterfaceError):
        return "database"
    if type(exc) is DatabaseError and _connection_lost():  # the driver's bare error: "server closed …"
        return "database"
    if isinstance(exc, (kombu.exceptions.OperationalError, *_broker_connection_errors())):
        return "broker"
    return None


def _connection_lost() -> bool:
    """The driver's connection is gone (closed by the server, or broken), not just a query that failed."""
    raw = connection.connection
    return raw is None or bool(getattr(raw, "closed", 0)) or not connection.is_usable()


def _broker_connection_errors() -> tuple[type[BaseException], ...]:
    """The broker transport's own connection errors (redis', amqp's), without plain OSError: an OSError
    from elsewhere is not the broker's."""
    try:
        errors = app.connection_for_write().connection_errors
    except Exception:  # a broker URL that names no transport: only kombu's own error counts
        return ()
    return tuple(error for error in errors if error is not OSError and issubclass(error, BaseException))


def unavailable(request: HttpRequest, dependency: str) -> HttpResponse:
    """503 with Retry-After: JSON under /api/, a short page elsewhere."""
    retry_after = str(settings.UNAVAILABLE_RETRY_AFTER)
    message = f"Temporarily unavailable ({dependency}); try again in {retry_after} seconds."
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=503)
    else:
        response = HttpResponse(
            f"<!doctype html><title>Temporarily unavailable</title><h1>Temporarily unavailable</h1>"
            f"<p>{message}</p>",
            status=503,
            content_type="text/html; charset=utf-8",
        )
    response["Retry-After"] = retry_after
    response["Cache-Control"] = "no-store"
    return response


class DependencyUnavailableMiddleware:
    """A view that fails because the database or the broker cannot be reached answers 503 (`unavailable`),
    logged as a warning, not as a server error with its traceback."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        dependency = unavailable_dependency(exception)
        if dependency is None:
            return None
        logger.warning("%s %s: %s unavailable (%s)", request.method, request.path, dependency, exception)
        if dependency == "database":
            connection.close_if_unusable_or_obsolete()
        return unavailable(request, dependency)
