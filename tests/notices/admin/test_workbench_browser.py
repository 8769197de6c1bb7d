"""The analyst's day in real headless Chromium (Playwright): sign in with a password and a TOTP code through
the sign-in pages, work the queue (grouped navigation, queues, filters), bulk-assess, trace, notify (a draft's
preview, then Send), resolve a "not our customer" dispute, read the dashboard and a scorecard, and export the
transparency report — every page under the Content-Security-Policy with no violation.

Tasks the pages queue run as a worker would: `enqueue.send` is replaced so a trace runs at once, in the
server's thread (the DNS answers come from the test's own DNS server); the others are only recorded.
Screenshots go to test-artifacts/workbench/ (docs/screenshots/workbench/ keeps a few for the README).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from notices.infra import enqueue
from notices.models import HostingOverride, Notice, Url
from notices.services.intake import ReportInput, submit_report
from notices.services.responses import record_response
from tests.notices.admin.test_sign_in_browser import (
    PASSWORD,
    _enrolled,
    code_step,
    next_code,
    violations,
    watch,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400), pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "workbench"
POLDER_IP, BALKAN_IP = "198.51.100.10", "198.51.100.200"
NEW = [f"http://files.polder.example/day/{n}.html" for n in range(3)]
DISPUTED = "http://moved.balkan.example/gallery/7.html"


@pytest.fixture
def worker(monkeypatch):
    """Published tasks: a trace runs at once (as a worker would), every task is recorded."""
    from notices.tasks import trace_url_task

    published = []

    def send(name, *args, **options):
        published.append((name, args))
        if name == enqueue.TRACE_URL:
            trace_url_task(*args)

    monkeypatch.setattr(enqueue, "send", send)
    return published


@pytest.fixture
def day(dns_server, make_provider, make_case, make_notice, worker, analyst):
    """Polder (by mail, NL) and Balkan (API-only, BG); three new reports on Polder; one case Balkan disputed
    ("not our customer", suggesting Polder); removed cases for the statistics; an analyst with a factor."""
    now = timezone.now()
    polder = make_provider("polder", country="NL")
    balkan = make_provider("balkan", country="BG", prefix="198.51.100.128/25", asn=64501, channel="api_only")
    dns_server.set_record("files.polder.example", "A", [POLDER_IP])
    dns_server.set_record("moved.balkan.example", "A", [BALKAN_IP])
    dns_server.set_record("cdn.balkan.example", "A", [BALKAN_IP])
    for address in NEW:
        submit_report(item=ReportInput(url=address), now=now)
    disputed = make_case(DISPUTED, provider=balkan, when=now - timedelta(days=2))
    notice = make_notice(disputed, now=now - timedelta(days=2))
    record_response(
        notice=notice,
        action="not_our_customer",
        now=now - timedelta(days=1),
        message="This address is not ours any more.",
        suggested_provider="Polder Hosting",
    )
    for n, (low, high) in enumerate([(3600, 7200), (20_000, 30_000), (90_000, 100_000)]):
        sent = now - timedelta(days=10 + n)
        case = make_case(f"http://cdn.balkan.example/old/{n}.jpg", provider=balkan, when=sent)
        make_notice(case, now=sent)
        Url.objects.filter(pk=case.pk).update(
            status="removed",
            removal_confirmed_at=sent + timedelta(seconds=high + 600),
            removed_low=sent + timedelta(seconds=low),
            removed_high=sent + timedelta(seconds=high),
            ttr_low=low,
            ttr_high=high,
            country_at_notice="BG",
        )
    analyst.set_password(PASSWORD)
    analyst.save(update_fields=["password"])
    return {"polder": polder, "balkan": balkan, "disputed": disputed, "secret": _enrolled(analyst)}


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _messages(page) -> str:
    return page.locator("ul.messagelist").inner_text() if page.locator("ul.messagelist").count() else ""


def _run_action(page, action: str) -> None:
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


def test_the_analysts_day(browse, day, worker):
    secret = day["secret"]

    def scenario(page):
        seen = watch(page)
        found = {}
        # Sign in: password, then the authenticator's code.
        page.goto(page.base + "/admin/")
        page.wait_for_url("**/admin/login/**")
        _shot(page, "01-sign-in")
        page.fill("#id_username", "analyst")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        code_step(page, next_code(secret))
        page.wait_for_url(page.base + "/admin/")
        found["groups"] = page.locator("#content-main .nav-group caption").all_inner_texts()
        _shot(page, "02-index-grouped-navigation")

        # The queue of new reports: all three, assessed in one go (each then traced).
        page.click("text=New reports, awaiting assessment")
        page.wait_for_url("**queue=new**")
        # The navigation sidebar folded away (Django keeps the choice in the browser): lists get the width.
        page.click("#toggle-nav-sidebar")
        found["new_rows"] = page.locator("#result_list tbody tr").count()
        _shot(page, "03-queue-new")
        page.check("#action-toggle")
        _run_action(page, "assess_selected")
        page.check("input[name=legality][value=illegal_international]")
        page.select_option("#id_classification", "A1")
        _shot(page, "04-bulk-assess")
        page.click("input[value='Save this assessment for each']")
        page.wait_for_selector("ul.messagelist")
        found["assessed"] = _messages(page)

        # Filter: ready to notify, hosted in the EU, Polder; trace one again by hand.
        page.goto(
            page.base + "/admin/notices/url/?queue=ready&eu=yes&provider__id__exact=" + str(day["polder"].pk)
        )
        found["ready_rows"] = page.locator("#result_list tbody tr").count()
        _shot(page, "05-queue-ready-filtered")
        page.locator("#result_list tbody tr input.action-select").first.check()
        _run_action(page, "trace_now")
        page.wait_for_selector("ul.messagelist")
        found["traced"] = _messages(page)
        page.locator("#result_list tbody tr th a").first.click()
        page.wait_for_selector("h2:has-text('Hosting trace')")
        found["case_page"] = page.locator("#content-main").inner_text()
        _shot(page, "06-case-page")

        # Notify: a draft per provider, its preview, then Send.
        page.goto(page.base + "/admin/notices/url/?queue=ready")
        page.check("#action-toggle")
        _run_action(page, "create_hotline_notices")
        page.wait_for_selector("ul.messagelist")
        found["drafted"] = _messages(page)
        page.goto(page.base + "/admin/notices/notice/?status__exact=draft")
        page.locator("#result_list tbody tr th a").first.click()
        page.wait_for_selector(".notice-preview")
        found["preview"] = page.locator(".notice-preview").inner_text()
        _shot(page, "07-draft-preview")
        page.click("input[value='Send this notice']")
        page.wait_for_selector("ul.messagelist")
        found["sent"] = _messages(page)

        # The dispute: from its queue to the dispute page; reassign to the suggested provider, then notify.
        page.goto(page.base + "/admin/notices/url/?queue=disputed")
        page.locator("#result_list tbody tr th a").first.click()
        page.click("text=Dispute: resolve")
        page.wait_for_selector(".dispute")
        found["dispute"] = page.locator("#content-main").inner_text()
        _shot(page, "08-dispute")
        page.click("input[value='Reassign and re-trace']")
        page.wait_for_selector("ul.messagelist")
        found["reassigned"] = _messages(page)
        _shot(page, "09-dispute-reassigned")
        # The re-trace found the content with the suggested provider: the hop noticed it at once (issue 17),
        # so the page shows that notice instead of offering a draft.
        found["dispute_notice"] = page.locator("#open-notice").inner_text()

        # The figures: dashboard, a scorecard, the transparency report and its CSV.
        page.goto(page.base + "/admin/dashboard/")
        found["dashboard"] = page.locator("#content-main").inner_text()
        _shot(page, "10-dashboard")
        page.click("a[href='/admin/scorecard/balkan/']")
        page.wait_for_selector("#scorecard-cases")
        found["scorecard"] = page.locator("#content-main").inner_text()
        _shot(page, "11-scorecard")
        page.goto(page.base + "/admin/transparency/")
        _shot(page, "12-transparency")
        with page.expect_download() as download:
            page.click("text=Download CSV")
        found["csv"] = Path(download.value.path()).read_text()
        page.goto(page.base + "/admin/trusted-flagger-report/?notice_type=all")
        found["flagger"] = page.locator("#content-main").inner_text()
        _shot(page, "13-trusted-flagger-report")
        page.goto(page.base + "/admin/notices/url/")
        _shot(page, "14-case-list-sidebar")
        found["csp"] = violations(page, seen)
        return found

    found = browse(scenario, timeout=300)
    assert found["groups"][:3] == ["Intake", "Cases", "Notices"] and "Audit" not in found["groups"]
    assert found["new_rows"] == 3
    assert "Assessed 3 case(s)" in found["assessed"]
    assert found["ready_rows"] == 3  # traced at once by the assessment's trace task
    assert "Queued a trace for 1 URL(s)." in found["traced"]
    assert POLDER_IP in found["case_page"] and "Polder Hosting" in found["case_page"]
    assert "Created draft notice(s) TN-" in found["drafted"]
    assert "abuse@polder.example" in found["preview"]  # the recipients, before anything goes out
    assert "Queued 1 notice(s) for delivery." in found["sent"]
    assert "Suggested provider: Polder Hosting" in found["dispute"]
    assert "This address is not ours any more." in found["dispute"]
    assert "Reassigned to Polder Hosting" in found["reassigned"]
    assert "The case is in notice TN-" in found["dispute_notice"]
    assert "Polder Hosting" in found["dispute_notice"]
    assert "Balkan Hosting" in found["dashboard"] and "Balkan Hosting" in found["scorecard"]
    rows = list(csv.DictReader(io.StringIO(found["csv"])))
    assert any(row["name"] == "Balkan Hosting" for row in rows)
    assert not re.search(r"https?://|hxxps?|@|\.example", found["csv"])  # no URL, host or address in it
    assert "By hosting provider" in found["flagger"]
    assert found["csp"] == []

    # What the pages did, in the database.
    disputed = Url.objects.get(pk=day["disputed"].pk)
    assert HostingOverride.objects.get(url=disputed).provider == day["polder"]
    assert disputed.provider == day["polder"]  # the re-trace ran and found the override
    sent = Notice.objects.filter(provider=day["polder"], status__in=["queued", "sent"])
    assert sent.count() == 2
    traced = [args for name, args in worker if name == enqueue.TRACE_URL]
    assert (
        len(traced) >= 3 + 1 + 1 + 1
    )  # assessed, traced by hand, the dispute's promise and its reassignment
