"""The DSA Art. 22(3) trusted-flagger report (notices/selectors/flagger.py): figures by hand, every output
format without URLs or personal data, audited exports, bad parameters a 400."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from notices.models import AuditEvent, NoticeItem, ProviderResponse, Url
from notices.selectors.flagger import trusted_flagger_report
from notices.services.assessment import assess_url

pytestmark = pytest.mark.django_db

SENT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
HOUR = 3600
HOSTS = ["files.polder.example", "cdn.balkan.example"]


@pytest.fixture
def world(make_provider, make_case, make_notice, analyst):
    """Trusted-flagger notices sent 2025-03-01:
    Polder: one notice, two URLs — one removed after 2 h, one refused after 5 h;
    Balkan: one notice, one URL (assessed B1) answered "not our customer" after 1 h;
    and not counted by default: a Balkan hotline notice (no answer), a Polder trusted-flagger notice of 2024.
    """
    polder = make_provider("polder", country="NL", channel="api_only")
    balkan = make_provider("balkan", country="BG", prefix="198.51.100.128/25", asn=64501, channel="api_only")
    cases = {
        name: make_case(f"http://{host}/{name}.html", provider=provider, when=SENT - timedelta(hours=1))
        for name, host, provider in [
            ("removed", HOSTS[0], polder),
            ("refused", HOSTS[0], polder),
            ("disputed", HOSTS[1], balkan),
            ("hotline", HOSTS[1], balkan),
            ("old", HOSTS[0], polder),
        ]
    }
    assess_url(
        url=cases["disputed"],
        analyst=analyst,
        legality="illegal_international",
        classification="B1",
        now=SENT,
    )
    first = make_notice(cases["removed"], cases["refused"], now=SENT, notice_type="trusted_flagger")
    second = make_notice(cases["disputed"], now=SENT, notice_type="trusted_flagger")
    make_notice(cases["hotline"], now=SENT)
    make_notice(cases["old"], now=SENT - timedelta(days=365), notice_type="trusted_flagger")
    NoticeItem.objects.filter(notice=first, url=cases["removed"]).update(
        status="removed", removed_at=SENT + timedelta(hours=2)
    )
    _answer(first, cases["refused"], "refused", SENT + timedelta(hours=5))
    _answer(second, cases["disputed"], "not_our_customer", SENT + timedelta(hours=1))
    NoticeItem.objects.filter(notice=second).update(status="disputed")
    return cases


def _answer(notice, case, action, at):
    response = ProviderResponse.objects.create(notice=notice, action=action, created_at=at)
    response.urls.set([case])


def _rows(report, group):
    return {row["name"]: row for row in report["rows"] if row["group"] == group}


def test_figures_by_hand(world, now):
    report = trusted_flagger_report(year=2025, now=now)
    assert report["notice_types"] == ["trusted_flagger"]
    summary = report["summary"]
    # Times: 2 h, 5 h, 1 h → median 2 h, p90 5 h (percentile_disc: a value that occurred).
    assert (summary["notices"], summary["urls"], summary["processed"]) == (2, 3, 3)
    assert (summary["median_seconds"], summary["p90_seconds"]) == (2 * HOUR, 5 * HOUR)
    providers = _rows(report, "provider")
    assert set(providers) == {"Polder Hosting", "Balkan Hosting"}
    polder = providers["Polder Hosting"]
    assert (polder["key"], polder["notices"], polder["urls"]) == ("polder", 1, 2)
    assert (polder["median_seconds"], polder["p90_seconds"]) == (2 * HOUR, 5 * HOUR)
    assert providers["Balkan Hosting"]["median_seconds"] == HOUR
    content = _rows(report, "content")
    assert {name: row["urls"] for name, row in content.items()} == {
        "Illegal internationally (baseline) — A1": 2,
        "Illegal internationally (baseline) — B1": 1,
    }
    actions = _rows(report, "action")
    assert {name: row["urls"] for name, row in actions.items()} == {
        "Removed": 1,
        "Refused (held not illegal)": 1,
        "Not our customer (disputed)": 1,
    }
    assert actions["Removed"]["median_seconds"] == 2 * HOUR


def test_every_notice_type_on_request(world, now):
    report = trusted_flagger_report(year=2025, now=now, notice_types=["trusted_flagger", "hotline_notice"])
    summary = report["summary"]
    assert (summary["notices"], summary["urls"], summary["processed"]) == (3, 4, 3)
    assert _rows(report, "action")["No answer yet"]["urls"] == 1
    assert _rows(report, "action")["No answer yet"]["median_seconds"] is None
    assert trusted_flagger_report(year=2024, now=now)["summary"]["urls"] == 1


LEAKS = [
    re.compile(r"\b(?:https?|hxxps?|ftp)(?:://|\[:\]//)", re.I),  # a URL, fanged or defanged
    re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),  # an e-mail address
    re.compile(r"\bwww\.", re.I),
]


def _leaks(text: str, cases) -> list[str]:
    found = [p.pattern for p in LEAKS if p.search(text)]
    found += [host for host in HOSTS if host in text.lower() or host.replace(".", "[.]") in text.lower()]
    found += [c.canonical for c in cases.values() if c.canonical in text]
    return found


@pytest.fixture
def staff_client(client, analyst):
    client.force_login(analyst)
    return client


def test_no_output_names_a_url_a_host_or_an_email(world, staff_api, staff_client):
    assert _leaks("see hxxp://files[.]polder[.]example/1.html or abuse@polder.example", world)  # finds them
    page = staff_client.get("/admin/trusted-flagger-report/?year=2025").content.decode()
    outputs = {
        "api-json": staff_api.get("/api/v1/stats/trusted-flagger-report/?year=2025").content.decode(),
        "api-csv": staff_api.get(
            "/api/v1/stats/trusted-flagger-report/?year=2025&format=csv"
        ).content.decode(),
        "admin-csv": staff_client.get("/admin/trusted-flagger-report/?year=2025&format=csv").content.decode(),
        "admin-json": staff_client.get(
            "/admin/trusted-flagger-report/?year=2025&format=json"
        ).content.decode(),
        "admin-page": page.replace('xmlns="http://www.w3.org/2000/svg"', ""),
    }
    for name, text in outputs.items():
        assert "Polder Hosting" in text, name
        assert _leaks(text, world) == [], name


def test_csv_and_json_carry_the_same_rows(world, staff_client):
    rows = list(
        csv.DictReader(
            io.StringIO(
                staff_client.get("/admin/trusted-flagger-report/?year=2025&format=csv").content.decode()
            )
        )
    )
    data = json.loads(staff_client.get("/admin/trusted-flagger-report/?year=2025&format=json").content)
    assert [r["name"] for r in rows] == [r["name"] for r in data["rows"]] + ["All notices"]
    assert rows[-1]["urls"] == "3" and rows[-1]["median_seconds"] == str(2 * HOUR)
    everything = staff_client.get("/admin/trusted-flagger-report/?year=2025&notice_type=all&format=json")
    assert json.loads(everything.content)["summary"]["urls"] == 4


def test_page_and_exports_are_audited_and_bad_parameters_refused(world, staff_api, staff_client, now):
    page = staff_client.get("/admin/trusted-flagger-report/?year=2025")
    assert page.status_code == 200 and "By type of illegal content" in page.content.decode()
    assert staff_api.get("/api/v1/stats/trusted-flagger-report/?year=2025&format=csv").status_code == 200
    rows = AuditEvent.objects.filter(action="stats.trusted_flagger_export").order_by("id")
    assert [row.data["format"] for row in rows] == ["html", "csv"]
    assert rows[0].data["notice_types"] == ["trusted_flagger"]
    this_year = staff_client.get("/admin/trusted-flagger-report/?notice_type=all")  # no year: this year's
    assert this_year.status_code == 200 and this_year.context["report"]["year"] == now.year
    assert staff_client.get("/admin/trusted-flagger-report/?year=1999").status_code == 400
    assert staff_client.get("/admin/trusted-flagger-report/?year=2025&notice_type=x").status_code == 400
    assert staff_api.get("/api/v1/stats/trusted-flagger-report/?year=2025&colour=red").status_code == 400
    assert staff_api.get("/api/v1/stats/trusted-flagger-report/").status_code == 400  # the year is required
    assert AuditEvent.objects.filter(action="stats.trusted_flagger_export").count() == 3  # refusals: none
    assert Url.objects.count() == 5
