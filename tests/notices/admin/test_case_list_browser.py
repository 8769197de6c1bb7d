"""The case (URL) list in real headless Chromium at a 1280 px wide window: every column of the results table
is inside the window, with the navigation sidebar open and folded away, and nothing scrolls sideways.

Cases with long defanged URLs, long site and provider names, an assignee and a time to removal whose bounds
differ by minutes after days: what widens the columns. Screenshots go to test-artifacts/workbench/
(case-list-1280-*.png); a scaled copy is docs/screenshots/workbench/01-queue-filtered.png.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from notices.models import Url
from tests.notices.admin.test_sign_in_browser import PASSWORD, _enrolled, code_step, next_code, watch

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180), pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "workbench"
WIDTH = 1280

# How far the table reaches past its box (scrolled, or drawn past it) and the page past the window (0 when
# it fits).
MEASURE = """() => {
  const box = document.querySelector('#changelist .results');
  const table = document.querySelector('#result_list');
  return {
    overflow: box.scrollWidth - box.clientWidth,
    right: Math.ceil(table.getBoundingClientRect().right - box.getBoundingClientRect().right),
    page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    columns: table.querySelectorAll('thead th').length,
  };
}"""


@pytest.fixture
def cases(make_provider, make_case, make_notice, analyst):
    # Case ids of seven digits, as a hotline's list shows after its first million (and whatever ids the tests
    # before this one used up: the width must not depend on them).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('notices_url', 'id'), "
            "GREATEST(nextval(pg_get_serial_sequence('notices_url', 'id')), 1000000))"
        )
    now = timezone.now()
    provider = make_provider("polder", name="Polder Hosting and Colocation Services B.V.", country="NL")
    made = []
    for n in range(6):
        address = f"http://files.polder-shared-hosting-cluster.example/galleries/2026/{n}/index-{n:04}.html"
        made.append(make_case(address, provider=provider, when=now - timedelta(days=n)))
    sent = now - timedelta(days=5)
    make_notice(made[0], now=sent)
    Url.objects.filter(pk=made[0].pk).update(
        status="removed",
        ttr_low=2 * 86400 + 3 * 3600 + 10 * 60,
        ttr_high=2 * 86400 + 3 * 3600 + 12 * 60,
        removed_low=sent + timedelta(days=2, hours=3, minutes=10),
        removed_high=sent + timedelta(days=2, hours=3, minutes=12),
        assigned_to=analyst,
        assigned_at=now,
    )
    analyst.set_password(PASSWORD)
    analyst.save(update_fields=["password"])
    return made


def test_the_case_list_fits_a_1280_px_window(browse, cases, analyst):
    secret = _enrolled(analyst)

    def scenario(page):
        watch(page)
        page.goto(page.base + "/admin/notices/url/")
        page.wait_for_url("**/admin/login/**")
        page.fill("#id_username", "analyst")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        code_step(page, next_code(secret))
        page.wait_for_url("**/admin/notices/url/")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        found = {"open": page.evaluate(MEASURE)}
        found["rows"] = page.locator("#result_list tbody tr").count()
        found["ttr"] = page.locator("#result_list td.field-ttr_display").all_inner_texts()
        page.screenshot(path=str(ARTIFACTS / "case-list-1280-sidebar.png"), full_page=True)
        page.click("#toggle-nav-sidebar")  # folded away (Django keeps the choice in the browser)
        found["folded"] = page.evaluate(MEASURE)
        page.screenshot(path=str(ARTIFACTS / "case-list-1280.png"), full_page=True)
        return found

    found = browse(scenario)
    assert found["rows"] == len(cases)
    assert found["open"]["columns"] >= 6
    for state in ("open", "folded"):
        measured = found[state]
        assert (measured["overflow"], measured["right"], measured["page"]) == (0, 0, 0), (state, measured)
    assert "2 d 3 h 10 min – 2 d 3 h 12 min" in [" ".join(t.split()) for t in found["ttr"]]
