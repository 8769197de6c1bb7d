"""The public report form in real headless Chromium (Playwright): a visitor reports a URL and gets a receipt;
a form sent at once is refused by the time check, then accepted; a bot filling the hidden honeypot records
nothing; a bad URL gets its error at the field and at the top; past the limit the address waits — in German
and English, with no Content-Security-Policy violation and never a link to the reported site."""

from __future__ import annotations

import pytest

from notices.enums import ReportChannel
from notices.models import Report, Url

from .test_csp_browser import LISTENER

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(180),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("whole_rate_window"),  # a fixed-window rate
]

REPORTED = "http://files.polder.example/gallery/7.html"


def watch(page) -> list[str]:
    """Collect the page's Content-Security-Policy violations (console and listener)."""
    seen: list[str] = []
    page.add_init_script(LISTENER)
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    return seen


def violations(page, seen: list[str]) -> list[str]:
    return seen + page.evaluate("window.__cspViolations")


def fill(page, url: str, email: str = "") -> None:
    page.fill("#id_url", url)
    page.fill("#id_notes", "seen on a forum")
    if email:
        page.fill("#id_email", email)


def test_public_report_in_chromium_time_check_then_receipt(browse, screenshot, settings):
    settings.PUBLIC_REPORT_MIN_SECONDS = 6  # a person fills it in slower; the test clicks at once

    def scenario(page):
        seen = watch(page)
        page.goto(page.base + "/report/")
        assert page.locator("h1").inner_text() == "Darstellungen sexuellen Kindesmissbrauchs melden"
        box = page.locator("#id_homepage").bounding_box()
        assert box["x"] + box["width"] <= 0  # the honeypot is off-screen
        screenshot(page, "public-01-form-de")
        fill(page, REPORTED, "melder@mail.example")
        page.get_by_role("button", name="Meldung senden").click()  # at once: the time check refuses
        page.wait_for_selector("#error-summary")
        summary = page.locator("#error-summary").inner_text()
        page.wait_for_timeout(6500)
        page.get_by_role("button", name="Meldung senden").click()  # the renewed stamp, old enough now
        page.wait_for_selector("#receipt")
        screenshot(page, "public-02-receipt-de")
        return {
            "summary": summary,
            "receipt": page.locator("#receipt").inner_text(),
            "links": page.locator("a[href*='polder']").count(),
            "content": page.content(),
            "csp": violations(page, seen),
        }

    result = browse(scenario, locale="de-DE")
    assert "Dieses Formular wurde zu schnell gesendet." in result["summary"]
    report = Report.objects.get()
    assert result["receipt"] == report.receipt
    assert (report.channel, report.reporter_email) == (ReportChannel.PUBLIC, "melder@mail.example")
    assert Url.objects.get().canonical == REPORTED
    assert result["links"] == 0 and "polder" not in result["content"]
    assert result["csp"] == []


def test_public_report_in_chromium_honeypot_bad_url_and_rate_limit(browse, screenshot, settings):
    settings.PUBLIC_REPORT_MIN_SECONDS = 0
    settings.PUBLIC_REPORT_RATE = "1/hour"

    def scenario(page):
        seen = watch(page)
        page.goto(page.base + "/report/")
        fill(page, "http://bot.polder.example/")
        page.evaluate("document.getElementById('id_homepage').value = 'http://spam.example/'")  # a bot
        page.get_by_role("button", name="Send report").click()
        page.wait_for_selector("#error-summary")
        honeypot = page.locator("#error-summary").inner_text()
        honeypot_emptied = page.input_value("#id_homepage") == ""
        fill(page, "ftp://files.polder.example/a")
        page.get_by_role("button", name="Send report").click()
        page.wait_for_selector("#error-summary a[href='#id_url']")
        field_error = page.locator("#id_url + .errorlist").inner_text()
        screenshot(page, "public-03-bad-url-en")
        page.click("#error-summary a[href='#id_url']")
        focused_on_url = page.evaluate("location.hash") == "#id_url"
        fill(page, "http://files.polder.example/too-many")
        page.get_by_role("button", name="Send report").click()  # the honeypot spent the report
        page.wait_for_selector("#refusal")
        screenshot(page, "public-04-rate-limit-en")
        return {
            "honeypot": honeypot,
            "emptied": honeypot_emptied,
            "field_error": field_error,
            "focused": focused_on_url,
            "refusal": page.locator("#refusal").inner_text(),
            "typed": page.input_value("#id_url"),
            "csp": violations(page, seen),
        }

    result = browse(scenario, locale="en-GB")
    assert "This form could not be sent." in result["honeypot"]
    assert result["emptied"]  # shown again empty, so a person whose browser filled it can send again
    assert result["field_error"] == "Only web addresses that start with http:// or https:// can be reported."
    assert result["focused"]
    assert result["refusal"].startswith("Too many reports from your network. Please try again in")
    assert result["typed"] == "http://files.polder.example/too-many"
    assert Report.objects.count() == 0 and Url.objects.count() == 0
    assert result["csp"] == []
