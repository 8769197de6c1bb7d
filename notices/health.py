"""Liveness and readiness probes, and the front page that points people to the right place."""

from __future__ import annotations

from django.db import connection
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
    """500 as JSON under /api/; a plain page elsewhere. Never the traceback."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal error; it has been logged."}, status=500)

    return default_server_error(request)
