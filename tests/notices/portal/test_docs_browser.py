"""The API docs page renders its operations in real Chromium with every request to another origin blocked:
Swagger UI is served by the app itself (drf-spectacular-sidecar), so the page works offline and runs no
foreign code."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120), pytest.mark.django_db(transaction=True)]


def test_api_docs_render_operations_with_other_origins_blocked(browse, screenshot, django_user_model):
    staff = django_user_model.objects.create_user("docs-browser", password="x" * 16, is_staff=True)
    client = Client()
    client.force_login(staff)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value

    def scenario(page):
        own = urlsplit(page.base).netloc
        blocked: list[str] = []

        def only_own_origin(route):
            if urlsplit(route.request.url).netloc == own:
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": page.base}])
        page.route("**/*", only_own_origin)
        page.goto(page.base + "/api/docs/")
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        screenshot(page, "api-docs")
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        return paths, blocked

    paths, blocked = browse(scenario)
    assert blocked == []
    assert any("/api/v1/reports/" in path for path in paths), paths
