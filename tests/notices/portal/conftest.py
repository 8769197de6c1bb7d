"""Fixtures for the portal tests: provider users of two providers, sent notices, and real headless Chromium.

Browser tests need Debian's `chromium` (Playwright drives it through `executable_path`). When it is missing
they are skipped with a loud warning, except with CI=true, where a missing browser fails the run
(INTERFACES.md: a missing prerequisite in CI is a failure, never a skip). `.ci/run` installs it with apt.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "portal"
PASSWORD = "desk-pass-2026!"
_missing_browser: list[str] = []


def pytest_terminal_summary(terminalreporter) -> None:
    if _missing_browser:
        terminalreporter.write_sep("!", "BROWSER TESTS SKIPPED: Chromium not found", red=True, bold=True)
        terminalreporter.write_line(
            f"{len(_missing_browser)} portal browser test(s) did not run: no executable at {CHROMIUM}. "
            "Install it (apt-get install -y chromium) or set CHROMIUM_PATH. With CI=true this is a failure.",
            red=True,
        )


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium")
    if path:
        return path
    message = f"Chromium is required for the portal browser tests and was not found at {CHROMIUM}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: a missing prerequisite is a failure).", pytrace=False)
    _missing_browser.append(message)
    pytest.skip(message)


@pytest.fixture
def browse(chromium_path, live_server):
    """Run `scenario(page)` in real headless Chromium and return its result.

    Playwright's sync API keeps an asyncio loop running in the thread that uses it, and Django refuses ORM
    calls from a thread with a running loop. So the browser lives in a thread of its own (started per call),
    the server under test in pytest-django's live_server thread, and the test thread keeps the ORM for
    fixtures and assertions — no DJANGO_ALLOW_ASYNC_UNSAFE needed. `page.base` is the live server's URL.
    """

    def _browse(scenario, *, locale: str = "en-GB", timeout: float = 90):
        outcome: dict = {}

        def run() -> None:
            from playwright.sync_api import sync_playwright

            try:
                with sync_playwright() as playwright:
                    chromium = playwright.chromium.launch(
                        executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
                    )
                    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
                    context.set_default_timeout(20_000)
                    page = context.new_page()
                    page.base = live_server.url
                    try:
                        outcome["value"] = scenario(page)
                    finally:
                        chromium.close()
            except BaseException as exc:  # re-raised in the test thread
                outcome["error"] = exc

        thread = threading.Thread(target=run, name="playwright", daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"browser scenario still running after {timeout} s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")

    return _browse


@pytest.fixture
def screenshot():
    """Save a full-page screenshot under test-artifacts/portal/ (gitignored) for people to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def _shot(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _shot


# --- Domain objects -----------------------------------------------------------------------------------------


@pytest.fixture
def make_portal_user(django_user_model):
    from notices.models import ProviderMembership

    def _make(username, provider, *, is_admin=False, email=""):
        user = django_user_model.objects.create_user(
            username, email=email or f"{username}@desk.example", password=PASSWORD
        )
        ProviderMembership.objects.create(user=user, provider=provider, is_admin=is_admin)
        return user

    return _make


@pytest.fixture
def desk(provider, make_portal_user):
    """A portal admin of `provider` (polder)."""
    return make_portal_user("polder-desk", provider, is_admin=True)


@pytest.fixture
def other_desk(other_provider, make_portal_user):
    """A portal admin of `other_provider` (balkan): the stranger who must never see polder's notices."""
    return make_portal_user("balkan-desk", other_provider, is_admin=True)


@pytest.fixture
def desk_client(client, desk):
    client.force_login(desk)
    return client


@pytest.fixture
def other_client(other_desk):
    from django.test import Client

    c = Client()
    c.force_login(other_desk)
    return c


@pytest.fixture
def api_only(provider):
    """The root fixture's API-only `provider`, in the Amsterdam time zone (the portal shows local
    deadlines)."""
    provider.channel = "api_only"
    provider.time_zone = "Europe/Amsterdam"
    provider.save(update_fields=["channel", "time_zone"])
    return provider
