"""Every response action in every portal language, in real headless Chromium, with the resulting state checked
in the database: notice and URL status, the ProviderResponse row, the stored statement of reasons and its
dates.

One browser per module (a thread of its own owns Playwright, see `BrowserThread`); each case gets a fresh
browser context, one notice and the page in the provider's language (or the user's choice, as README's first
ten minutes do it). The checker's verification is not awaited here: test_browser.py follows it end to end.
"""

from __future__ import annotations

import queue
import threading

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone, translation

from notices.models import Event, NoticeItem, PortalAccount, ProviderResponse
from notices.portal.access import PORTAL_LANGUAGES, provider_zone
from notices.portal.views.notices import _confirmation
from notices.services import sor

from .conftest import CHROMIUM_ARGS, PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180), pytest.mark.django_db(transaction=True)]

BROWSER_LOCALES = {"en": "en-GB", "de": "de-DE", "nl": "nl-NL", "fr": "fr-FR"}
ACTIONS = (
    "acknowledge",
    "removed_one",
    "removed_all",
    "not_our_customer",
    "need_info",
    "refused",
    "removed_invalid",
)


class BrowserThread:
    """One Chromium for many scenarios. Playwright's sync API must stay in the thread that started it (and
    keeps an event loop there, which Django's ORM refuses), so scenarios are handed to that thread and their
    results (or exceptions) handed back."""

    def __init__(self, executable: str) -> None:
        self.jobs: queue.Queue = queue.Queue()
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(
            target=self._run, args=(executable,), name="playwright-module", daemon=True
        )
        self.thread.start()
        if not self.ready.wait(60) or self.error:
            raise RuntimeError(f"Chromium did not start: {self.error}")

    def _run(self, executable: str) -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=executable, headless=True, args=CHROMIUM_ARGS
                )
                self.ready.set()
                while (job := self.jobs.get()) is not None:
                    scenario, options, done = job
                    context = browser.new_context(
                        viewport={"width": 1280, "height": 900}, locale=options["locale"]
                    )
                    context.set_default_timeout(20_000)
                    try:
                        if options["cookies"]:
                            context.add_cookies(options["cookies"])
                        page = context.new_page()
                        page.base = options["base"]
                        done.put(("value", scenario(page)))
                    except BaseException as exc:  # re-raised in the test thread
                        done.put(("error", exc))
                    finally:
                        context.close()
                browser.close()
        except BaseException as exc:
            self.error = exc
            self.ready.set()

    def run(self, scenario, *, base: str, locale: str, cookies=(), timeout: float = 90):
        done: queue.Queue = queue.Queue()
        self.jobs.put((scenario, {"base": base, "locale": locale, "cookies": list(cookies)}, done))
        kind, value = done.get(timeout=timeout)
        if kind == "error":
            raise value
        return value

    def stop(self) -> None:
        self.jobs.put(None)
        self.thread.join(30)


@pytest.fixture(scope="module")
def browser(chromium_path):
    thread = BrowserThread(chromium_path)
    yield thread
    thread.stop()


def _session_cookie(user, base: str) -> list[dict]:
    client = Client()
    client.force_login(user)
    return [
        {
            "name": settings.SESSION_COOKIE_NAME,
            "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "url": base,
        }
    ]


def _open_answer(page, action: str) -> None:
    page.locator(f"details.answer:has(form[action$='/respond/{action}/']) > summary").click()


def _submit(page, action: str) -> None:
    with page.expect_navigation():
        page.locator(f"form[action$='/respond/{action}/'] button[type=submit]").click()


def _wire_dates(page) -> dict:
    return {name: page.input_value(f"#id_{name}") for name in ("content_date", "application_date")}


def _scenario(action: str, reference: str, second_url: int):
    def scenario(page):
        page.goto(f"{page.base}/portal/notices/{reference}/")
        seen = {"lang": page.get_attribute("html", "lang"), "dates": _wire_dates(page)}
        if action == "acknowledge":
            _submit(page, "acknowledge")
        elif action == "removed_one":
            page.uncheck(f"input[name=urls][value='{second_url}']")
            _submit(page, "removed")
        elif action == "removed_all":
            _submit(page, "removed")
        elif action == "not_our_customer":
            _open_answer(page, action)
            page.fill("#id_noc_suggested_provider", "Example Cloud B.V.")
            page.fill("#id_noc_message", "Moved to another host last week.")
            _submit(page, action)
        elif action == "need_info":
            _open_answer(page, action)
            page.fill("#id_ask_message", "Which file exactly?")
            _submit(page, action)
        elif action == "refused":
            _open_answer(page, action)
            page.fill("#id_refuse_message", "A court order says otherwise.")
            _submit(page, action)
        elif action == "removed_invalid":
            page.locator("#form-removed details > summary").click()
            page.fill("#id_decision_facts", "")
            page.evaluate("document.querySelector('#id_decision_facts').removeAttribute('required')")
            _submit(page, "removed")
            summary = page.locator("#error-summary")
            summary.wait_for()
            box = summary.bounding_box()
            seen["summary"] = {
                "text": summary.inner_text(),
                "top": box["y"],
                "scroll": page.evaluate("scrollY"),
            }
            summary.locator("a[href='#id_decision_facts']").click()
            seen["field_in_view"] = page.evaluate(
                "(() => { const r = document.querySelector('#id_decision_facts').getBoundingClientRect();"
                " return r.top >= 0 && r.bottom <= innerHeight; })()"
            )
            return seen
        assert page.url.endswith(f"/portal/notices/{reference}/")
        seen["message"] = page.locator(".messages li.success").inner_text()
        return seen

    return scenario


def _expected_confirmation(action: str, language: str) -> str:
    with translation.override(language):
        return _confirmation(action.removesuffix("_one").removesuffix("_all"))


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("language", PORTAL_LANGUAGES)
def test_every_action_in_every_language(
    browser, live_server, screenshot, desk, provider, sent_notice, language, action
):
    provider.language = language
    provider.save(update_fields=["language"])
    items = list(sent_notice.items.select_related("url").order_by("url_id"))
    first, second = (item.url_id for item in items)
    zone = provider_zone(provider)
    today = timezone.localdate(timezone=zone).isoformat()
    content_date = timezone.localdate(min(i.url.first_reported_at for i in items), timezone=zone).isoformat()

    seen = browser.run(
        _scenario(action, sent_notice.reference, second),
        base=live_server.url,
        locale=BROWSER_LOCALES[language],
        cookies=_session_cookie(desk, live_server.url),
    )

    assert seen["lang"] == language
    assert seen["dates"] == {"content_date": content_date, "application_date": today}  # the browser kept them
    sent_notice.refresh_from_db()
    statuses = dict(NoticeItem.objects.filter(notice=sent_notice).values_list("url_id", "status"))
    responses = list(ProviderResponse.objects.filter(notice=sent_notice))
    if action == "removed_invalid":
        with translation.override(language):
            title = translation.ngettext(
                "Please correct this problem:", "Please correct these %(n)s problems:", 1
            )
            required = translation.gettext("This field is required.")
        assert title in seen["summary"]["text"] and required in seen["summary"]["text"]
        assert seen["summary"]["scroll"] == 0 and 0 <= seen["summary"]["top"] < 300  # at the top, in view
        assert seen["field_in_view"] is True
        assert (responses, sent_notice.status, set(statuses.values())) == ([], "sent", {"open"})
        return
    assert seen["message"] == _expected_confirmation(action, language)
    (response,) = responses
    assert response.user == desk
    urls = sorted(response.urls.values_list("pk", flat=True))
    if action.startswith("removed"):
        removed = [first] if action == "removed_one" else [first, second]
        assert (response.action, urls) == ("removed", removed)
        assert statuses == {pk: "reported_removed" if pk in removed else "open" for pk in (first, second)}
        assert sent_notice.status == "acknowledged"
        statement = response.statement_of_reasons
        assert (statement["content_date"], statement["application_date"]) == (content_date, today)
        assert statement["category"] == "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
        assert sor.validate_statement(statement) == statement
        with translation.override(language):
            facts = translation.gettext("Removed after notice %(reference)s from %(hotline)s.")
        assert statement["decision_facts"] == facts % {
            "reference": sent_notice.reference,
            "hotline": settings.HOTLINE_NAME,
        }
        return
    assert response.action == action and urls == [first, second]
    if action == "acknowledge":
        assert (sent_notice.status, set(statuses.values()), response.message) == (
            "acknowledged",
            {"open"},
            "",
        )
        assert sent_notice.acknowledged_at is not None
    elif action == "need_info":
        assert (sent_notice.status, set(statuses.values())) == ("acknowledged", {"open"})
        assert response.message == "Which file exactly?"
    elif action == "refused":
        assert (sent_notice.status, set(statuses.values())) == ("disputed", {"disputed"})
        assert response.message == "A court order says otherwise."
    elif action == "not_our_customer":
        assert (sent_notice.status, set(statuses.values())) == ("disputed", {"disputed"})
        assert response.message == "Moved to another host last week."
        event = Event.objects.get(kind="notice.response", notice=sent_notice)
        assert event.data["suggested_provider"] == "Example Cloud B.V."


@pytest.mark.parametrize("language", PORTAL_LANGUAGES)
def test_first_ten_minutes_step_5_with_the_language_switch(
    browser, live_server, screenshot, desk, provider, sent_notice, language
):
    """README step 5: sign in, switch the language at the top right, acknowledge, then confirm removal."""
    provider.language = "en" if language == "nl" else "nl"  # the demo's polder speaks Dutch
    provider.save(update_fields=["language"])
    reference = sent_notice.reference

    def scenario(page):
        page.goto(page.base + "/portal/login/")
        page.fill("#id_username", desk.username)
        page.fill("#id_password", PASSWORD)
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(page.base + "/portal/")
        before = page.get_attribute("html", "lang")
        with page.expect_navigation():
            page.select_option("select[name=language]", language)
        after = page.get_attribute("html", "lang")
        page.goto(f"{page.base}/portal/notices/{reference}/")
        _submit(page, "acknowledge")
        page.wait_for_selector(".messages li.success")
        dates = _wire_dates(page)
        _submit(page, "removed")
        page.wait_for_selector(".note.warn[role=status]")  # "checking the removal"
        screenshot(page, f"20-step-5-{language}")
        return before, after, dates, page.locator(".messages li.success").inner_text()

    before, after, dates, message = browser.run(
        scenario, base=live_server.url, locale=BROWSER_LOCALES[language]
    )
    assert (before, after) == (provider.language, language)
    assert PortalAccount.objects.get(user=desk).language == language
    assert message == _expected_confirmation("removed", language)
    acknowledged, removed = ProviderResponse.objects.filter(notice=sent_notice).order_by("pk")
    assert (acknowledged.action, removed.action) == ("acknowledge", "removed")
    zone = provider_zone(provider)
    assert removed.statement_of_reasons["application_date"] == timezone.localdate(timezone=zone).isoformat()
    assert dates["application_date"] == removed.statement_of_reasons["application_date"]
    assert set(NoticeItem.objects.filter(notice=sent_notice).values_list("status", flat=True)) == {
        "reported_removed"
    }
