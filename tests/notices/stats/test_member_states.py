"""The EU member-state answer, the year's figures and the transparency report (notices/selectors/stats.py,
notices/selectors/reports.py, the API and the dashboard), on cases whose figures are worked out by hand."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from notices.models import AuditEvent, Url
from notices.selectors.reports import transparency_report, yearly_figures
from notices.selectors.stats import refresh_snapshots, time_to_removal, ttr_stats

pytestmark = pytest.mark.django_db

SENT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DAY = 86400
HOSTS = ["files.polder.example", "cdn.balkan.example", "www.prairie.example"]


@pytest.fixture
def world(make_provider, make_case, make_notice):
    """Six noticed cases. First notice 2025-03-01 unless said; TTR [low, high] in seconds:

    NL (Polder): [3600, 7200]; [2.5 d, 3.5 d]; still up — referred to law enforcement 1 day after the report
    BG (Balkan): [100, 200] — referred 5 days after the report
    US (Prairie): [10 d, 11 d]; and one noticed in 2024, [50, 60]
    """
    polder = make_provider("polder", country="NL", channel="api_only")
    balkan = make_provider("balkan", country="BG", prefix="198.51.100.128/25", asn=64501, channel="api_only")
    prairie = make_provider("prairie", country="US", prefix="203.0.113.0/24", asn=64502, channel="api_only")
    plan = [
        (polder, "http://files.polder.example/1.html", SENT, (3600, 7200), 1),
        (polder, "http://files.polder.example/2.html", SENT, (216000, 302400), None),
        (polder, "http://files.polder.example/3.html", SENT, None, None),
        (balkan, "http://cdn.balkan.example/1.jpg", SENT, (100, 200), 5),
        (prairie, "http://www.prairie.example/a/1", SENT, (10 * DAY, 11 * DAY), None),
        (prairie, "http://www.prairie.example/a/2", SENT - timedelta(days=365), (50, 60), None),
    ]
    cases = []
    for provider, address, sent, ttr, referred_after in plan:
        case = make_case(address, provider=provider, when=sent)
        make_notice(case, now=sent)
        fields = {
            "first_notice_sent_at": sent,
            "first_reported_at": sent - timedelta(hours=1),
            "country_at_notice": provider.country,
            "le_referred_at": None
            if referred_after is None
            else sent - timedelta(hours=1) + timedelta(days=referred_after),
        }
        if ttr:
            low, high = ttr
            fields.update(
                status="removed",
                removal_confirmed_at=sent + timedelta(seconds=high + 600),
                removed_low=sent + timedelta(seconds=low),
                removed_high=sent + timedelta(seconds=high),
                ttr_low=low,
                ttr_high=high,
            )
        Url.objects.filter(pk=case.pk).update(**fields)
        cases.append(case)
    return cases


@pytest.fixture
def staff_client(client, analyst):
    """An analyst signed in to the admin (force_login counts as a full sign-in, second factor included)."""
    client.force_login(analyst)
    return client


def _by_key(groups):
    return {g["key"]: g for g in groups}


def test_member_states_are_the_eu_countries_with_their_share_of_every_case(world, now):
    groups = _by_key(ttr_stats(group_by="member_state", now=now))
    assert set(groups) == {"NL", "BG"}  # the US cases are in the total, not in a group
    nl, bg = groups["NL"], groups["BG"]
    assert (nl["count"], nl["share"], nl["removed"], nl["still_up"]) == (3, 0.5, 2, 1)
    # lows [3600, 216000, age] and highs [7200, 302400, ∞]: the middle of each
    assert nl["median"] == {"low": 216000, "high": 302400}
    assert nl["still_up_after_days"]["30"] == 1
    assert (bg["count"], bg["share"], bg["median"]) == (1, 1 / 6, {"low": 100, "high": 200})


def test_member_state_snapshot_serves_the_same_figures(world, now):
    live = ttr_stats(group_by="member_state", now=now)
    refresh_snapshots(now=now)
    served = time_to_removal(group_by="member_state", now=now)
    assert served["source"] == "snapshot"
    assert served["groups"] == json.loads(json.dumps(live))


def test_api_member_state_and_eu_filter(staff_api, world):
    body = staff_api.get("/api/v1/stats/time-to-removal/?group_by=member_state").json()
    assert [(g["key"], g["count"], g["share"]) for g in body["groups"]] == [("BG", 1, 1 / 6), ("NL", 3, 0.5)]
    assert {"computed_at", "as_of", "age_seconds", "source"} <= set(body)
    eu = staff_api.get("/api/v1/stats/time-to-removal/?group_by=country&eu=true").json()["groups"]
    assert [(g["key"], g["count"]) for g in eu] == [("BG", 1), ("NL", 3)]
    outside = staff_api.get("/api/v1/stats/time-to-removal/?group_by=country&eu=false").json()["groups"]
    assert [(g["key"], g["count"]) for g in outside] == [("US", 2)]
    assert (
        staff_api.get("/api/v1/stats/time-to-removal/?group_by=member_state&eu=false").json()["groups"] == []
    )


def test_api_provider_country_and_asn_filters(staff_api, world):
    def keys(query):
        response = staff_api.get(f"/api/v1/stats/time-to-removal/?{query}")
        assert response.status_code == 200, response.content
        return [(g["key"], g["count"]) for g in response.json()["groups"]]

    assert keys("group_by=country&provider=balkan") == [("BG", 1)]
    assert keys("group_by=country&provider=nobody") == []
    assert keys("group_by=provider&country=nl") == [("polder", 3)]
    assert keys("group_by=country&asn=64500&since=2025-01-01T00:00:00Z") == [("BG", 1), ("NL", 3), ("US", 1)]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("group_by=member_state&colour=red", "colour"),
        ("groupby=member_state", "groupby"),
        ("eu=maybe", "eu"),
        ("group_by=continent", "group_by"),
        ("asn=-1", "asn"),
    ],
)
def test_api_unknown_or_bad_parameter_is_a_400_naming_it(staff_api, world, query, field):
    response = staff_api.get(f"/api/v1/stats/time-to-removal/?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert response.json()[field][0]


def test_unknown_parameter_message_lists_the_known_ones(staff_api, db):
    response = staff_api.get("/api/v1/stats/yearly/?year=2025&member=NL")
    assert response.status_code == 400
    assert response.json() == {"member": ["Unknown parameter. Known: year."]}


def test_yearly_figures_by_hand(world, now):
    figures = yearly_figures(year=2025, now=now)
    assert (figures["urls_actioned"], figures["urls_eu"], figures["share_eu"]) == (5, 4, 0.8)
    # removed < 24 h: low bound from the highs (7200, 200) = 2/5; high bound from the lows (3600, 100) = 2/5
    assert figures["share_removed_same_day"] == {"low": 0.4, "high": 0.4}
    # < 72 h: highs 7200, 200 (302400 is over) = 2/5; lows 3600, 216000, 100 = 3/5
    assert figures["share_removed_within_3_days"] == {"low": 0.4, "high": 0.6}
    # lows [100, 3600, 216000, 864000, age], highs [200, 7200, 302400, 950400, ∞]
    assert figures["median"] == {"low": 216000, "high": 302400}
    assert figures["law_enforcement"] == {"urls": 5, "referred_within_3_days": 1, "share": 0.2}
    states = _by_key(figures["member_states"])
    assert (states["NL"]["count"], states["NL"]["share"], states["BG"]["share"]) == (3, 0.6, 0.2)
    empty = yearly_figures(year=2023, now=now)
    assert (empty["urls_actioned"], empty["share_eu"], empty["member_states"]) == (0, None, [])


def test_api_yearly(staff_api, world):
    response = staff_api.get("/api/v1/stats/yearly/?year=2024")
    assert response.status_code == 200
    body = response.json()
    assert (body["urls_actioned"], body["urls_eu"], body["median"]) == (1, 0, {"low": 50, "high": 60})
    assert staff_api.get("/api/v1/stats/yearly/").status_code == 400
    assert staff_api.get("/api/v1/stats/yearly/?year=twenty").status_code == 400


def test_transparency_rows_by_hand(world, now):
    report = transparency_report(year=2025, now=now)
    rows = {(r["group"], r["key"]): r for r in report["rows"]}
    assert set(rows) == {
        ("member_state", "BG"),
        ("member_state", "NL"),
        ("provider", "balkan"),
        ("provider", "polder"),
        ("provider", "prairie"),
    }
    polder = rows[("provider", "polder")]
    assert (polder["name"], polder["count"], polder["share"], polder["still_up"]) == (
        "Polder Hosting",
        3,
        0.6,
        1,
    )
    assert (polder["median_low"], polder["median_high"]) == (216000, 302400)
    assert rows[("provider", "prairie")]["share_under_72h_high"] == 0.0
    assert rows[("member_state", "NL")]["share"] == 0.6


# --- No URL, no host, no person in any output --------------------------------------------------------------

LEAKS = [
    re.compile(r"https?://", re.I),
    re.compile(r"hxxps?", re.I),
    re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),  # an e-mail address
    re.compile(r"\bwww\.", re.I),
]


def _leaks(text: str, cases) -> list[str]:
    found = [p.pattern for p in LEAKS if p.search(text)]
    hosts = {Url.objects.get(pk=c.pk).host for c in cases} | set(HOSTS)
    found += [h for h in hosts if h.lower() in text.lower()]
    found += [c.canonical for c in cases if c.canonical in text]
    return found


def _page_content(html: str) -> str:
    """The whole page, less the SVG namespace of the admin's icons (the one absolute URL it has)."""
    return html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_no_output_format_names_a_url_a_host_or_an_email(world, staff_api, staff_client):
    # The scan itself finds what it looks for.
    assert _leaks("see hxxp://files.polder.example/1.html or abuse@polder.example", world)
    outputs = {
        "api-json": staff_api.get("/api/v1/stats/transparency/?year=2025").content.decode(),
        "api-csv": staff_api.get("/api/v1/stats/transparency/?year=2025&format=csv").content.decode(),
        "admin-csv": staff_client.get("/admin/transparency/?year=2025&format=csv").content.decode(),
        "admin-json": staff_client.get("/admin/transparency/?year=2025&format=json").content.decode(),
        "admin-page": _page_content(staff_client.get("/admin/transparency/?year=2025").content.decode()),
    }
    for name, text in outputs.items():
        assert "Polder Hosting" in text, name  # the report is there…
        assert _leaks(text, world) == [], name  # …and names no case


def test_transparency_exports_are_audited(world, staff_api, staff_client):
    response = staff_api.get("/api/v1/stats/transparency/?year=2025&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode().splitlines()[0].startswith("year,group,key,name,count,share")
    assert staff_client.get("/admin/transparency/?year=2025&format=json").status_code == 200
    assert staff_client.get("/admin/transparency/?year=2025").status_code == 200
    rows = AuditEvent.objects.filter(action="stats.transparency_export").order_by("id")
    assert [(r.data["year"], r.data["format"]) for r in rows] == [
        (2025, "csv"),
        (2025, "json"),
        (2025, "html"),
    ]
    assert staff_client.get("/admin/transparency/?year=1999").status_code == 400
    assert staff_client.get("/admin/transparency/?year=2025&format=pdf").status_code == 400
    assert AuditEvent.objects.filter(action="stats.transparency_export").count() == 3


def test_transparency_download_without_a_year_is_this_year(world, staff_client, now):
    response = staff_client.get("/admin/transparency/?format=csv")
    assert response.status_code == 200
    assert f'filename="transparency-{now.year}.csv"' in response["Content-Disposition"]
    assert response.content.decode().splitlines()[0].startswith("year,group,key,name,count,share")
    assert staff_client.get("/admin/transparency/?format=json").json()["year"] == now.year
    rows = AuditEvent.objects.filter(action="stats.transparency_export").order_by("id")
    assert [(r.data["year"], r.data["format"]) for r in rows] == [(now.year, "csv"), (now.year, "json")]


def test_dashboard_shows_member_states_chart_and_the_year(world, staff_client):
    page = staff_client.get(reverse("dashboard") + "?year=2025").content.decode()
    table = page[page.index('id="member-state-table"') :]
    assert re.search(r"<td>NL</td><td>3</td><td>50\.0 %</td><td>2</td><td>1</td>", table)
    assert 'id="member-states-as-of"' in page and " s old" in page
    chart = page[
        page.index('<svg class="ms-chart"') : page.index("</svg>", page.index('<svg class="ms-chart"'))
    ]
    # NL (3 cases) has the longest bar, BG a third of it; the darker part is what was removed
    assert re.findall(r'<rect class="hi" x="44" y="\d+" width="([\d.]+)"', chart) == ["560.0", "186.7"]
    assert re.findall(r'<rect class="lo" x="44" y="\d+" width="([\d.]+)"', chart) == ["373.3", "186.7"]
    yearly = page[page.index('id="yearly-table"') :]
    assert "<th>URLs actioned</th><td>5</td>" in yearly
    assert "4 (80.0 %)" in yearly and "1 of 5 (20.0 %)" in yearly
    assert "40.0 % – 60.0 %" in yearly  # within 3 days
    assert '<option value="2025" selected>' in page
    assert "style=" not in page[page.index('id="content-main"') :]


# --- Provider scorecards -----------------------------------------------------------------------------------


@pytest.fixture
def polder_answers(world):
    """Polder's three notices: answered 2 h and 4 h after sending (the second a refusal), the third not yet
    (and disputed by a later "not our customer" that set no acknowledgement here); and the first case's
    content came back once before, after a removal of [100, 200] s."""
    from notices.models import Notice, ProviderResponse, RemovalCycle

    first, second, third = (Notice.objects.get(items__url=case) for case in world[:3])
    Notice.objects.filter(pk=first.pk).update(acknowledged_at=SENT + timedelta(hours=2))
    Notice.objects.filter(pk=second.pk).update(acknowledged_at=SENT + timedelta(hours=4))
    ProviderResponse.objects.create(notice=second, action="refused", created_at=SENT + timedelta(hours=4))
    ProviderResponse.objects.create(notice=third, action="not_our_customer", created_at=SENT)
    earlier = SENT - timedelta(days=30)
    RemovalCycle.objects.create(
        url=world[0],
        provider_at_notice=first.provider,
        asn_at_notice=64500,
        country_at_notice="NL",
        notice_type_at_notice="hotline_notice",
        first_notice_sent_at=earlier,
        removal_confirmed_at=earlier + timedelta(seconds=800),
        removed_low=earlier + timedelta(seconds=100),
        removed_high=earlier + timedelta(seconds=200),
        ttr_low=100,
        ttr_high=200,
        reappeared_at=earlier + timedelta(days=1),
    )
    return first.provider


def test_scorecard_by_hand(polder_answers, now):
    from notices.selectors.reports import provider_scorecard

    card = provider_scorecard(provider=polder_answers, now=now)
    assert card["provider"] == {"slug": "polder", "name": "Polder Hosting", "country": "NL", "is_eu": True}
    assert card["cases"] == {"count": 4, "removed": 3, "still_up": 1, "reappeared": 1, "closed": 0}
    # lows [100, 3600, 216000, age], highs [200, 7200, 302400, ∞]
    assert card["median"] == {"low": 3600, "high": 7200}
    assert card["p90"]["high"] is None and card["p90"]["low"] > 30 * DAY  # the case still up
    assert card["still_up_after_days"] == {"7": 1, "30": 1}
    assert card["reappearance_rate"] == 1 / 3
    assert card["survival"][-1]["t"] == 30 * DAY
    assert card["notices"] == {
        "sent": 3,
        "acknowledged": 2,
        # [7200, 14400, age] and [7200, 14400, ∞]
        "time_to_acknowledge_median": {"low": 14400, "high": 14400},
        "disputed": 1,
        "dispute_rate": 1 / 3,
        "refused_not_illegal": 1,
        "not_illegal_rate": 1 / 3,
    }


def test_scorecard_api_and_page(polder_answers, staff_api, staff_client):
    response = staff_api.get("/api/v1/providers/polder/scorecard/")
    assert response.status_code == 200
    assert (response.json()["cases"]["count"], response.json()["source"]) == (4, "live")
    assert staff_api.get("/api/v1/providers/nobody/scorecard/").status_code == 404
    unknown = staff_api.get("/api/v1/providers/polder/scorecard/?days=7")
    assert (unknown.status_code, unknown.json()) == (400, {"days": ["No parameter is taken."]})
    page = staff_client.get("/admin/scorecard/polder/").content.decode()
    assert "<th>Median time to removal</th><td>60 min – 2.0 h</td>" in page
    assert '<th>Disputed ("not our customer")</th><td>1 (33.3 %)</td>' in page
    assert "<th>Came back after removal</th><td>1 (33.3 % of removals)</td>" in page
    assert staff_client.get("/admin/scorecard/nobody/").status_code == 404
    dashboard = staff_client.get("/admin/dashboard/").content.decode()
    assert 'href="/admin/scorecard/polder/"' in dashboard


def test_scorecard_says_when_it_was_computed(polder_answers, staff_api, staff_client, now):
    from notices.selectors.reports import provider_scorecard

    card = provider_scorecard(provider=polder_answers, now=now)
    assert (card["computed_at"], card["as_of"], card["source"]) == (now, now, "live")
    refresh_snapshots(now=now - timedelta(seconds=30))
    card = provider_scorecard(provider=polder_answers, now=now)
    # The time-to-removal figures come from the snapshot: computed when it was.
    assert (card["computed_at"], card["age_seconds"], card["source"]) == (
        now - timedelta(seconds=30),
        30,
        "snapshot",
    )
    api = staff_api.get("/api/v1/providers/polder/scorecard/").json()
    page = staff_client.get("/admin/scorecard/polder/", {"format": "json"}).json()
    for answer in (api, page):
        assert answer["computed_at"] == answer["as_of"] and answer["computed_at"].startswith(str(now.year))


# --- The statistics answers against the published schema ----------------------------------------------------


def _exactly(schema: dict, node):
    """A schema node as JSON Schema, references resolved, admitting no property beyond those it names (the
    schema conformance run lets unnamed properties pass; here an answer must match its schema exactly)."""
    if isinstance(node, list):
        return [_exactly(schema, item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _exactly(schema, schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]])
    strict = {key: _exactly(schema, value) for key, value in node.items() if key != "nullable"}
    if isinstance(node.get("properties"), dict):
        strict["additionalProperties"] = False
    return {"anyOf": [strict, {"type": "null"}]} if node.get("nullable") else strict


@pytest.fixture
def answer_schema(api_client):
    schema = api_client.get("/api/schema/?format=json").json()

    def _of(path: str) -> dict:
        content = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        return _exactly(schema, content["schema"])

    return _of


def _conforms(client, url: str, answer_schema) -> dict:
    import jsonschema

    response = client.get(url)
    assert response.status_code == 200, response.content
    jsonschema.validate(response.json(), answer_schema)
    return response.json()


def test_statistics_answers_match_their_schema_exactly(polder_answers, staff_api, answer_schema, now):
    import jsonschema

    from notices.api.serializers import STATS_GROUP_BY

    ttr = answer_schema("/api/v1/stats/time-to-removal/")
    for group_by in STATS_GROUP_BY:
        body = _conforms(staff_api, f"/api/v1/stats/time-to-removal/?group_by={group_by}", ttr)
        assert body["groups"], group_by
    refresh_snapshots(now=now)
    assert _conforms(staff_api, "/api/v1/stats/time-to-removal/", ttr)["source"] == "snapshot"
    yearly = answer_schema("/api/v1/stats/yearly/")
    assert _conforms(staff_api, "/api/v1/stats/yearly/?year=2025", yearly)["urls_actioned"] == 6
    assert _conforms(staff_api, "/api/v1/stats/yearly/?year=2023", yearly)["share_eu"] is None  # no case
    card = answer_schema("/api/v1/providers/{slug}/scorecard/")
    for slug in ("polder", "balkan", "prairie"):
        _conforms(staff_api, f"/api/v1/providers/{slug}/scorecard/", card)
    # The check can fail: a field the schema does not name.
    body = staff_api.get("/api/v1/providers/polder/scorecard/").json()
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**body, "unnamed": 1}, card)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**body, "cases": {**body["cases"], "count": None}}, card)
