"""Staff sign-in in real headless Chromium (Playwright): enrolment on the first sign-in, a sign-in with a
code, a lost factor (a recovery code; a supervisor resets; the user enrols again), re-authentication before
a user change, and the idle timeout — every page under the Content-Security-Policy with no violation.

The browser runs in a thread of its own and the server in pytest-django's live_server thread (the portal's
`browse` fixture); the test thread sets users up. Screenshots go to test-artifacts/portal/ (staff-*.png).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from notices.models import AuditEvent, PortalAccount
from notices.services import second_factor

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180), pytest.mark.django_db(transaction=True)]

PASSWORD = "staff-pass-2026!"
# Collects the Content-Security-Policy violations of every document (installed before any page script).
LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const what = event.blockedURI || "inline";
  window.__cspViolations.push(`${event.violatedDirective} ${what} at ${event.documentURI}`);
});
"""


@pytest.fixture
def staff(django_user_model):
    """An analyst (the Analyst role, no factor yet) and a supervisor (superuser) with a factor set up."""
    from django.contrib.auth.models import Group

    analyst = django_user_model.objects.create_user("analyst", password=PASSWORD, is_staff=True)
    analyst.groups.add(Group.objects.get(name="Analyst"))
    boss = django_user_model.objects.create_superuser("boss", password=PASSWORD)
    return analyst, boss, _enrolled(boss)


def _enrolled(user) -> str:
    """Set the user's factor up (as the enrolment page does); its current 30 s step counts as used."""
    now = datetime.now(UTC)
    account = second_factor.start_enrolment(user)
    second_factor.confirm_enrolment(user, pyotp.TOTP(account.totp_secret).at(now), now=now, ip=None)
    return account.totp_secret


def next_code(secret: str) -> str:
    """The code of the next 30 s step (the current one was used; a step is never accepted twice)."""
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30))


def watch(page) -> list[str]:
    seen: list[str] = []
    page.add_init_script(LISTENER)
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    return seen


def violations(page, seen: list[str]) -> list[str]:
    return seen + page.evaluate("window.__cspViolations")


def password_step(page, username: str, path: str = "/admin/") -> None:
    page.goto(page.base + path)
    page.wait_for_url("**/admin/login/**")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def code_step(page, code: str) -> None:
    page.wait_for_url("**/admin/login/code/")
    page.fill("#id_code", code)
    page.get_by_role("button", name="Verify").click()


def enrol(page, screenshot=None, name: str = "") -> tuple[str, list[str]]:
    """On the enrolment page: read the key (as text), enter the app's code, read the recovery codes."""
    page.wait_for_url("**/admin/login/enrol/")
    if screenshot:
        screenshot(page, f"staff-{name}-enrolment")
    secret = page.inner_text("[data-testid=totp-secret]").strip()
    page.fill("#id_code", pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on and sign in").click()
    page.wait_for_selector("[data-testid=recovery-codes]")
    if screenshot:
        screenshot(page, f"staff-{name}-recovery-codes")
    codes = [c.strip() for c in page.locator("[data-testid=recovery-codes] code").all_inner_texts()]
    page.get_by_role("link", name="I have saved them — continue").click()
    return secret, codes


def test_staff_enrolment_on_first_sign_in_then_sign_in_with_a_code(browse, screenshot, staff):
    def scenario(page):
        seen = watch(page)
        password_step(page, "analyst", path="/admin/dashboard/")
        assert page.locator(".totp-qr svg path").count() == 1  # the QR code, as SVG
        secret, codes = enrol(page, screenshot, "first")
        page.wait_for_url(page.base + "/admin/dashboard/")  # where the analyst was going
        page.click("#logout-form button")
        password_step(page, "analyst")
        screenshot(page, "staff-code-step")
        page.fill("#id_code", "000000")
        page.get_by_role("button", name="Verify").click()
        page.wait_for_selector("text=That code is not valid")
        code_step(page, next_code(secret))
        page.wait_for_url(page.base + "/admin/")
        return secret, codes, page.locator("#user-tools").inner_text(), violations(page, seen)

    secret, codes, tools, seen = browse(scenario)
    assert len(set(codes)) == 10 and "second factor" in tools.lower() and seen == []
    assert PortalAccount.objects.get(user__username="analyst").totp_secret == secret


def test_staff_lost_factor_recovery_code_reset_and_new_enrolment(browse, screenshot, staff):
    analyst, _boss, boss_secret = staff
    _enrolled(analyst)
    codes = second_factor.renew_recovery_codes(analyst, now=datetime.now(UTC), ip=None)

    def scenario(page):
        seen = watch(page)
        password_step(page, "analyst")
        code_step(page, codes[0])  # the phone is lost: a recovery code instead
        page.wait_for_url(page.base + "/admin/")
        page.goto(page.base + "/admin/second-factor/")
        left = page.inner_text("[data-testid=codes-left]")
        screenshot(page, "staff-lost-signed-in-with-recovery-code")

        supervisor = page.context.browser.new_context().new_page()
        supervisor.base = page.base
        password_step(supervisor, "boss", path=f"/admin/auth/user/{analyst.pk}/change/")
        code_step(supervisor, next_code(boss_secret))
        supervisor.get_by_role("link", name="Reset second factor").click()
        screenshot(supervisor, "staff-lost-reset-confirm")
        supervisor.get_by_role("button", name="Yes, reset the second factor").click()
        supervisor.wait_for_selector("text=The second factor of analyst is reset")
        status = supervisor.inner_text("[data-testid=second-factor-status]")

        page.reload()  # the analyst's session ended with the factor
        page.wait_for_selector("text=Your second factor was reset")
        screenshot(page, "staff-lost-signed-out-after-reset")
        password_step(page, "analyst")
        _secret, new_codes = enrol(page)
        page.wait_for_url(page.base + "/admin/")
        return left, status, new_codes, violations(page, seen)

    left, status, new_codes, seen = browse(scenario)
    assert left == "9" and "not set up" in status
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    assert seen == []
    assert list(AuditEvent.objects.order_by("pk").values_list("action", "actor")) == [
        ("staff.2fa_enrolled", "user:boss"),
        ("staff.2fa_enrolled", "user:analyst"),
        ("staff.recovery_codes_renewed", "user:analyst"),
        ("staff.recovery_code_used", "user:analyst"),
        ("staff.2fa_reset", "user:boss"),
        ("staff.2fa_enrolled", "user:analyst"),
    ]


def test_staff_reauth_before_a_user_change_returns_to_the_form(browse, screenshot, staff, settings):
    analyst, _boss, boss_secret = staff
    settings.STAFF_REAUTH_WINDOW = 6
    codes = second_factor.renew_recovery_codes(_boss, now=datetime.now(UTC), ip=None)
    change = f"/admin/auth/user/{analyst.pk}/change/"

    def scenario(page):
        seen = watch(page)
        password_step(page, "boss")
        code_step(page, next_code(boss_secret))
        page.wait_for_url(page.base + "/admin/")
        page.wait_for_timeout(6500)  # longer ago than STAFF_REAUTH_WINDOW
        page.goto(page.base + change)
        page.wait_for_url("**/admin/reauth/**")
        screenshot(page, "staff-reauth")
        page.fill("#id_password", PASSWORD)
        page.fill("#id_code", codes[0])
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_url(page.base + change)
        page.fill("#id_first_name", "Ana")
        page.get_by_role("button", name="Save", exact=True).click()
        page.wait_for_selector("text=was changed successfully")
        return violations(page, seen)

    assert browse(scenario) == []
    analyst.refresh_from_db()
    assert analyst.first_name == "Ana"


def test_staff_idle_timeout_signs_out(browse, screenshot, staff, settings):
    _analyst, _boss, boss_secret = staff
    settings.STAFF_SESSION_IDLE_TIMEOUT = 3

    def scenario(page):
        password_step(page, "boss")
        code_step(page, next_code(boss_secret))
        page.wait_for_url(page.base + "/admin/")
        page.goto(page.base + "/admin/dashboard/")
        page.wait_for_timeout(3500)
        page.goto(page.base + "/admin/notices/url/")
        page.wait_for_selector("text=You were signed out after a time without activity")
        screenshot(page, "staff-idle-signed-out")
        page.goto(page.base + "/admin/")
        return page.url

    assert browse(scenario).endswith("/admin/login/?next=/admin/")
