"""The Content-Security-Policy in real headless Chromium: admin, dashboard, portal and the API docs load and
work with no violation (tests/tracker/test_security_headers.py checks the headers themselves).

Violations are collected twice: the `securitypolicyviolation` events of every document (a listener the
browser installs before any page script runs) and Chromium's console messages about the policy. A control at
the end makes one violation on purpose, so the listener is shown to hear them.
"""

from __future__ import annotations

import pyotp
import pytest

from .conftest import PASSWORD
from .test_browser import sign_in

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180), pytest.mark.django_db(transaction=True)]

LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const what = event.blockedURI || "inline";
  window.__cspViolations.push(`${event.violatedDirective} ${what} at ${event.documentURI}`);
});
"""


def test_csp_admin_dashboard_portal_and_api_docs_load_without_violation(
    browse, screenshot, desk, sent_notice, make_case, provider, now, django_user_model
):
    from notices.models import NoticeTemplate

    django_user_model.objects.create_superuser("head-analyst", password=PASSWORD)
    template = NoticeTemplate.objects.create(
        language="en", notice_type="", subject="Notice {{ notice.reference }}", body="Dear abuse desk"
    )
    case = make_case("http://files.polder.example/b.html", provider=provider, when=now)
    reference = sent_notice.reference

    def scenario(page):
        seen: list[str] = []
        page.add_init_script(LISTENER)
        page.on(
            "console",
            lambda m: seen.append(f"{m.text} at {page.url}") if "Content Security Policy" in m.text else None,
        )

        def visit(path: str, ready: str) -> None:
            page.goto(page.base + path)
            page.wait_for_selector(ready)
            seen.extend(page.evaluate("window.__cspViolations"))

        # Portal: sign-in, the list, a notice, and the language menu (it submits itself through portal.js).
        sign_in(page)
        page.wait_for_url(page.base + "/portal/")
        visit(f"/portal/notices/{reference}/", f"h1:has-text('{reference}')")
        page.select_option("select[name=language]", "de")
        page.wait_for_selector("html[lang=de]")
        seen.extend(page.evaluate("window.__cspViolations"))
        screenshot(page, "csp-01-portal-notice-de")

        # Admin: sign-in with the enrolment of a second factor (QR code, recovery codes), index, a change
        # list, a change form, the dashboard, the staff user's second-factor and re-authentication pages.
        page.goto(page.base + "/admin/login/")
        page.fill("#id_username", "head-analyst")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector(".totp-qr svg")
        seen.extend(page.evaluate("window.__cspViolations"))
        page.fill("#id_code", pyotp.TOTP(page.inner_text("[data-testid=totp-secret]").strip()).now())
        page.get_by_role("button", name="Turn on and sign in").click()
        page.wait_for_selector("[data-testid=recovery-codes]")
        seen.extend(page.evaluate("window.__cspViolations"))
        page.get_by_role("link", name="I have saved them — continue").click()
        page.wait_for_url(page.base + "/admin/")
        visit("/admin/", "a:has-text('Open the dashboard')")
        visit("/admin/second-factor/", "[data-testid=codes-left]")
        visit("/admin/reauth/", "#id_code")
        visit("/admin/notices/url/", "#result_list")
        visit(f"/admin/notices/url/{case.pk}/change/", "#content-main form#url_form")
        visit(f"/admin/notices/notice/{sent_notice.pk}/change/", "#content-main form .inline-group")
        visit(f"/admin/notices/noticetemplate/{template.pk}/preview/", "iframe.preview-html")
        visit("/admin/dashboard/", "svg.bar")
        screenshot(page, "csp-02-dashboard")
        bar = page.locator("svg.bar rect.lo").first.bounding_box()
        # The member-state chart (the notice went to a provider in NL) and the printable transparency report.
        page.wait_for_selector("svg.ms-chart rect.hi")
        page.locator("#member-states").scroll_into_view_if_needed()
        screenshot(page, "csp-02b-dashboard-member-states")
        visit(f"/admin/transparency/?year={now.year}", "#transparency-member_state")
        screenshot(page, "csp-02c-transparency-report")
        visit(f"/admin/scorecard/{provider.slug}/", "#scorecard-notices")
        screenshot(page, "csp-02d-provider-scorecard")

        # API docs: Swagger UI renders the operations from the schema.
        visit("/api/docs/", ".opblock")
        page.locator(".opblock-summary").first.click()
        page.get_by_role("button", name="Try it out").first.click()
        page.locator(".model-container").first.click()
        page.wait_for_selector(".model-box .model")
        seen.extend(page.evaluate("window.__cspViolations"))
        screenshot(page, "csp-03-api-docs")
        violations = list(seen)

        # Control: an inline style attribute is refused and reported.
        page.evaluate("document.body.insertAdjacentHTML('beforeend', '<div style=\"color:red\">x</div>')")
        page.wait_for_function("window.__cspViolations.length > 0")
        control = page.evaluate("window.__cspViolations")
        return violations, control, bar

    violations, control, bar = browse(scenario, timeout=150)
    assert violations == []
    assert len(control) == 1 and control[0].startswith("style-src")
    assert bar is not None and bar["width"] > 0  # the SVG bar has its width without an inline style
