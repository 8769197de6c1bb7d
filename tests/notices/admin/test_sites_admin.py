"""Site groups in the admin: the site column and filter on the URL list, a site's page (figures, host names,
cases), and the list's actions run over every case of a site at once."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from notices.models import Event, Url
from notices.services.intake import ReportInput, submit_reports

pytestmark = pytest.mark.django_db

POLDER_SITE = [
    "http://polder.example/",
    "https://www.polder.example/a",
    "http://files.polder.example/b",
    "http://files.polder.example/c",
]


@pytest.fixture
def site_cases(now):
    results = submit_reports(
        items=[ReportInput(url=u) for u in [*POLDER_SITE, "http://cdn.balkan.example/d"]], now=now
    )
    return [r.url_id for r in results[:4]], results[4].url_id


@pytest.fixture
def staff(client, analyst):
    client.force_login(analyst)
    return client


def ids(response) -> list[int]:
    assert response.status_code == 200
    return sorted(row.pk for row in response.context["cl"].result_list)


def test_site_column_links_to_the_site_page_defanged(staff, site_cases):
    body = staff.get("/admin/notices/url/").content.decode()
    assert '<a href="/admin/notices/url/site/polder.example/" class="url">polder[.]example</a>' in body
    assert 'href="http://polder.example' not in body


@pytest.mark.parametrize(
    "typed", ["polder.example", "www.polder.example", "hxxps://files[.]polder[.]example/x"]
)
def test_site_filter_takes_a_site_host_or_url(staff, site_cases, typed):
    polder, _ = site_cases
    assert ids(staff.get("/admin/notices/url/", {"site": typed})) == sorted(polder)


def test_site_filter_bad_value_is_the_wrong_filter_notice(staff, site_cases):
    response = staff.get("/admin/notices/url/", {"site": "ftp://x"})
    assert response.status_code == 200  # the list without the filter, and a message naming it
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("The filter “site” (site) cannot use that value" in message for message in shown), shown


def test_site_page_shows_figures_hosts_and_cases(staff, site_cases):
    polder, balkan = site_cases
    response = staff.get("/admin/notices/url/site/polder.example/")
    assert response.status_code == 200
    body = response.content.decode()
    for pk in polder:  # the action form carries a selection (Django runs no action without one)
        assert f'name="_selected_action" value="{pk}"' in body
    assert '<b id="site-cases">4</b>' in body and '<b id="site-open">4</b>' in body
    assert response.context["hosts"] == [
        ("files[.]polder[.]example", 2),
        ("polder[.]example", 1),
        ("www[.]polder[.]example", 1),
    ]
    assert sorted(url.pk for url, _ in response.context["cases"]) == sorted(polder)
    assert f"/admin/notices/url/{balkan}/change/" not in body
    assert 'href="http://' not in body and 'href="https://' not in body


def test_site_action_runs_on_every_case_of_the_site(staff, site_cases):
    polder, balkan = site_cases
    first = staff.post(
        "/admin/notices/url/?site=polder.example",
        {"action": "close_cases", "select_across": "1", "index": "0", "_selected_action": [polder[0]]},
    )
    assert first.status_code == 200 and "Close these cases" in first.content.decode()
    done = staff.post(
        "/admin/notices/url/?site=polder.example",
        {
            "action": "close_cases",
            "select_across": "1",
            "_selected_action": [polder[0]],
            "index": "0",
            "apply": "yes",
            "reason": "out_of_remit",
            "note": "a whole site outside the remit",
        },
    )
    assert done.status_code == 302
    assert "Closed 4 case(s)" in " ".join(str(m) for m in get_messages(done.wsgi_request))
    assert set(Url.objects.filter(pk__in=polder).values_list("status", flat=True)) == {"closed"}
    assert Url.objects.get(pk=balkan).status == "new"
    assert Event.objects.filter(kind="url.closed").count() == 4


def test_site_page_offers_the_actions_the_user_may_run(client, site_cases):
    from tests.conftest import staff_with_role

    auditor = staff_with_role("auditor-1", "Auditor")
    client.force_login(auditor)
    response = client.get("/admin/notices/url/site/polder.example/")
    assert response.status_code == 200
    assert response.context["actions"] == []
    assert 'id="site-actions"' not in response.content.decode()
