"""The portal in real headless Chromium (Playwright): what an abuse desk does, end to end, with screenshots.

The server under test runs in pytest-django's live_server thread, the browser in a thread of its own (see the
`browse` fixture), and a real Celery worker checks URLs against a real local web server through a real DNS
server. Screenshots go to test-artifacts/portal/.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from django.core import mail

from notices.delivery.compose import one_click_token
from notices.demo.web import DemoWeb
from notices.models import Check, ProviderMembership, ProviderResponse

from .conftest import PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180), pytest.mark.django_db(transaction=True)]


def sign_in(page, username="polder-desk", password=PASSWORD):
    page.goto(page.base + "/portal/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def web_host():
    """The reported site: a local web server where every page is already gone (404)."""
    web = DemoWeb()
    web.start()
    yield web
    web.stop()


def test_sign_in_open_notice_mark_removed_and_see_verification(
    browse, screenshot, desk, sent_notice, start_worker, dns_server, web_host
):
    dns_server.set_record("files.polder.example", "A", ["198.51.100.10"])
    start_worker(
        DNS_RESOLVER=dns_server.address, CHECKER_CONNECT_TO=f"198.51.100.0/24=127.0.0.1:{web_host.port}"
    )
    reference = sent_notice.reference

    def scenario(page):
        page.goto(page.base + "/portal/")
        page.wait_for_url("**/portal/login/**")
        screenshot(page, "01-login")
        sign_in(page)
        page.wait_for_url(page.base + "/portal/")
        screenshot(page, "02-notice-list")
        page.get_by_role("link", name=reference).click()
        page.wait_for_selector(f"h1:has-text('{reference}')")
        assert page.locator("a[href^='http://files']").count() == 0  # never a link to the reported site
        assert page.locator(".url").first.inner_text() == "hxxp://files[.]polder[.]example/a.html"
        screenshot(page, "03-notice-page")
        page.get_by_text("Statement of reasons (DSA Art. 17)").click()
        screenshot(page, "04-removed-with-statement")
        page.get_by_role("button", name="Confirm removal").click()
        page.wait_for_selector("text=Checking the removal")
        screenshot(page, "05-verifying")
        page.wait_for_selector("td .badge.gone", timeout=60_000)  # the page reloads itself with the result
        screenshot(page, "06-verification-result")
        return page.locator("td .badge.gone").count()

    assert browse(scenario, timeout=120) == 2
    assert set(
        Check.objects.filter(url__notice_items__notice=sent_notice).values_list("outcome", flat=True)
    ) == {"gone"}
    response = ProviderResponse.objects.get()
    assert (response.action, response.user, response.statement_of_reasons["category"]) == (
        "removed",
        desk,
        "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    )


def test_one_click_link_confirms_then_acts(browse, screenshot, sent_notice):
    link = f"/portal/one-click/{one_click_token(sent_notice, 'acknowledge')}/"

    def scenario(page):
        page.goto(page.base + link)
        screenshot(page, "07-one-click-confirm")
        page.get_by_role("button", name="Confirm receipt").click()
        page.wait_for_selector("h1:has-text('Thank you')")
        screenshot(page, "08-one-click-done")

    browse(scenario)
    assert list(ProviderResponse.objects.values_list("action", "user")) == [("acknowledge", None)]
    sent_notice.refresh_from_db()
    assert sent_notice.status == "acknowledged"


def test_totp_enrolment_and_sign_in_with_code(browse, screenshot, desk):
    def enrol(page):
        sign_in(page)
        page.goto(page.base + "/portal/account/")
        page.get_by_role("button", name="Set up two-factor sign-in").click()
        page.wait_for_selector("[data-testid=totp-secret]")
        screenshot(page, "09-totp-enrolment")
        secret = page.inner_text("[data-testid=totp-secret]").strip()
        page.fill("#id_code", pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Turn on two-factor sign-in").click()
        page.wait_for_selector("text=Two-factor sign-in is on")
        return secret

    secret = browse(enrol)

    def sign_in_with_code(page):
        sign_in(page)
        page.wait_for_url("**/portal/login/verify/")
        screenshot(page, "10-totp-verify")
        page.fill("#id_code", "000000")
        page.get_by_role("button", name="Verify").click()
        page.wait_for_selector("text=That code is not valid")
        # Enrolment used the current 30 s step and a step is never accepted twice: use the next one.
        page.fill("#id_code", pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30)))
        page.get_by_role("button", name="Verify").click()
        page.wait_for_url(page.base + "/portal/")
        return page.locator("h1").inner_text()

    assert browse(sign_in_with_code) == "Takedown notices"


def test_sign_ins_wait_after_failures(browse, screenshot, desk, settings):
    settings.SIGNIN_FREE_FAILURES = 3

    def scenario(page):
        for attempt in range(3):
            sign_in(page, password=f"wrong-{attempt}")
        screenshot(page, "11-locked")
        sign_in(page)  # the right password, too late
        return page.locator(".errorlist").inner_text()

    assert "Too many failed sign-ins. Please try again after" in browse(scenario)


def test_invitation_from_colleagues_page(browse, screenshot, desk, provider, settings):
    def invite(page):
        sign_in(page)
        page.goto(page.base + "/portal/team/")
        page.fill("#id_email", "newcomer@polder.example")
        page.get_by_role("button", name="Send invitation").click()
        page.wait_for_selector("text=Invitation sent")
        screenshot(page, "12-colleagues")

    browse(invite)
    (message,) = mail.outbox
    path = re.search(r"(/portal/invitation/[^/\s]+/)", message.body)[1]

    def accept(page):
        page.goto(page.base + path)
        screenshot(page, "13-invitation")
        page.fill("#id_username", "newcomer")
        page.fill("#id_password1", "newcomer-pass-2026")
        page.fill("#id_password2", "newcomer-pass-2026")
        page.get_by_role("button", name="Create my account").click()
        page.wait_for_selector("text=Welcome. Your account is ready.")
        return page.url

    assert browse(accept).endswith("/portal/")
    assert ProviderMembership.objects.get(user__username="newcomer").provider == provider


def test_api_keys_page_shows_new_key_once(browse, screenshot, desk):
    def scenario(page):
        sign_in(page)
        page.goto(page.base + "/portal/keys/")
        page.fill("#id_name", "Ticket system")
        page.get_by_role("button", name="Create key").click()
        key = page.inner_text("[data-testid=new-key]").strip()
        screenshot(page, "14-api-key-created")
        page.goto(page.base + "/portal/keys/")
        return key, page.content()

    key, later = browse(scenario)
    assert key.startswith("tt_") and key not in later


def test_second_provider_sees_nothing_of_the_first(browse, other_desk, sent_notice, other_sent_notice):
    def scenario(page):
        sign_in(page, username="balkan-desk")
        page.wait_for_url(page.base + "/portal/")
        listed = page.content()
        statuses = [
            page.goto(page.base + f"/portal/notices/{sent_notice.reference}/{suffix}").status
            for suffix in ("", "urls.csv", "xarf.json", "statements.json", "status.json")
        ]
        return listed, statuses

    listed, statuses = browse(scenario)
    assert other_sent_notice.reference in listed and sent_notice.reference not in listed
    assert statuses == [404] * 5


def test_portal_in_german_for_a_german_provider(browse, screenshot, desk, sent_notice, provider):
    provider.language = "de"
    provider.save(update_fields=["language"])

    def scenario(page):
        sign_in(page)
        page.wait_for_url(page.base + "/portal/")
        screenshot(page, "15-list-de")
        return page.locator("h1").inner_text()

    assert browse(scenario) == "Takedown-Meldungen"
