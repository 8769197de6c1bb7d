"""What a new user's walkthrough of the admin found: timelines and recent activity in words (no raw event
codes, a provider's name instead of its id), the scorecard linked from the provider pages and its JSON, the
Art. 22(3) page's notice types as labels, plural names, the notice items' headers and row labels, list
filters that refuse what they cannot apply (with a message naming it), and an honest capped search count."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse

from notices.admin.common import CappedPaginator
from notices.infra.events import record_event
from notices.models import Url
from notices.selectors.reports import provider_scorecard
from notices.selectors.timeline import KIND_LABELS, event_label, event_text

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:notices_url_changelist"
RAW_CODE = re.compile(r"\b(url|notice|alert|alerts|order|dispatch)\.[a-z_]+\b")
NOTICES = Path(__file__).resolve().parents[3] / "notices"


def _text(response) -> str:
    """The page's visible text (tags and the contents of script/style elements left out)."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- Timeline and recent activity in words -------------------------------------------------------------


def _kinds_written_in_code() -> set[str]:
    """Every literal event kind the code writes (record_event / new_event / NewEvent's first argument, the
    constants they are given, and the escalation's table of kinds)."""
    kinds = set()
    pattern = re.compile(r"^(url|notice|alert|alerts|order|dispatch)\.[a-z_]+$")
    for path in NOTICES.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and pattern.match(node.value):
                kinds.add(node.value)
    return kinds


def test_every_kind_the_code_writes_has_a_label():
    audit_actions = {"url.view", "url.list", "url.site_view", "notice.view", "notice.list", "notice.export"}
    audit_actions |= {"report.view", "report.list", "trace.view", "notice.one_click.open", "provider.merge"}
    fields = {"url.canonical", "url.last_outcome", "url.last_checked_at"}  # column paths, not kinds
    missing = sorted(_kinds_written_in_code() - audit_actions - fields - set(KIND_LABELS))
    assert missing == []


def test_a_kind_without_a_label_is_still_words():
    assert event_label("url.traced") == "Hosting traced"
    assert event_label("url.something_new") == "Something new"
    assert "." not in event_label("notice.x_y")


def test_the_case_timeline_shows_labels_and_the_providers_name(client, analyst, make_case, provider, now):
    case = make_case("http://files.polder.example/timeline.html", provider=provider, when=now)
    traced = record_event(
        "url.traced", at=now, url=case, data={"ip": "198.51.100.10", "provider": provider.pk}
    )
    assert event_text(traced) == f"Hosting traced: address 198.51.100.10, provider {provider.name}."
    untraced = record_event("url.traced", at=now, url=case, data={"ip": "198.51.100.11", "provider": None})
    assert "provider none found" in event_text(untraced)
    client.force_login(analyst)
    response = client.get(reverse("admin:notices_url_change", args=[case.pk]))
    assert response.status_code == 200
    timeline = _text(response).split("What happened", 1)[1]
    assert "Hosting traced" in timeline and "Reported" in timeline and "Assessed" in timeline
    assert f"provider {provider.name}" in timeline
    assert "provider #" not in timeline
    assert "Illegal internationally (baseline)" in timeline  # the legality's label, not its code
    assert not RAW_CODE.search(timeline), RAW_CODE.search(timeline)
    # The provider's name is plain text in the timeline, no link.
    html = response.content.decode().split("What happened", 1)[1]
    assert not re.search(rf"<a [^>]*>{re.escape(provider.name)}</a>", html.split("</table>", 1)[0])


def test_the_dashboards_recent_activity_shows_labels(client, analyst, make_case, provider, now):
    make_case("http://files.polder.example/recent.html", provider=provider, when=now)
    client.force_login(analyst)
    response = client.get(reverse("dashboard"))
    recent = _text(response).split("Recent activity", 1)[1]
    assert "Hosting traced" in recent or "Reported" in recent
    assert not RAW_CODE.search(recent), RAW_CODE.search(recent)


def test_the_event_list_shows_labels(client, analyst, make_case, provider, now):
    make_case("http://files.polder.example/events.html", provider=provider, when=now)
    client.force_login(analyst)
    response = client.get(reverse("admin:notices_event_changelist"))
    assert response.status_code == 200
    body = _text(response).split('id="changelist"', 1)[-1]
    assert "Reported" in body
    assert not RAW_CODE.search(_text(response).split("Kind", 1)[1]), "a raw event code on the event list"


# --- The scorecard --------------------------------------------------------------------------------------


def test_the_scorecard_is_linked_from_the_provider_list_and_page(client, analyst, provider):
    client.force_login(analyst)
    target = f'href="{reverse("scorecard", args=[provider.slug])}"'
    listing = client.get(reverse("admin:notices_hostingprovider_changelist"))
    assert target in listing.content.decode()
    page = client.get(reverse("admin:notices_hostingprovider_change", args=[provider.pk]))
    assert page.status_code == 200 and target in page.content.decode()


def test_the_scorecard_serves_json_like_the_api(client, analyst, make_case, make_notice, api_only, now):
    make_notice(make_case("http://files.polder.example/card.html", provider=api_only, when=now), now=now)
    client.force_login(analyst)
    url = reverse("scorecard", args=[api_only.slug])
    response = client.get(url, {"format": "json"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    card = response.json()
    figures = json.loads(json.dumps(provider_scorecard(provider=api_only, now=now), cls=DjangoJSONEncoder))
    assert card["cases"] == figures["cases"] and card["median"] == figures["median"]  # the API's figures
    assert card["cases"]["count"] == 1
    assert json.dumps(card).count("http") == 0  # no URL in it


@pytest.mark.parametrize(
    ("query", "named"),
    [({"format": "xml"}, "format"), ({"fromat": "json"}, "fromat"), ({"year": "2026"}, "year")],
)
def test_the_scorecard_refuses_what_it_would_ignore(client, analyst, provider, query, named):
    client.force_login(analyst)
    response = client.get(reverse("scorecard", args=[provider.slug]), query)
    assert response.status_code == 400
    assert response.content.decode().startswith(f"{named}:")


# --- Labels and names -----------------------------------------------------------------------------------


def test_the_art_22_page_names_the_notice_types(client, analyst):
    client.force_login(analyst)
    text = _text(client.get(reverse("trusted_flagger_report")))
    assert "DSA Art. 16 trusted-flagger notice" in text
    assert "types trusted_flagger" not in text
    everything = _text(client.get(reverse("trusted_flagger_report"), {"notice_type": "all"}))
    assert "Hotline notice" in everything and "hotline_notice" not in everything


def test_plural_names_read_as_english(client, admin_user):
    from django.apps import apps

    wrong = [
        m._meta.verbose_name_plural
        for m in apps.get_app_config("notices").get_models()
        if re.search(r"(x|s|ch|sh)s$", str(m._meta.verbose_name_plural))
    ]
    assert wrong == []
    client.force_login(admin_user)
    index = client.get(reverse("admin:index")).content.decode()
    assert "Routing prefixes" in index and "prefixs" not in index.lower()


def test_the_notice_items_table_has_distinct_headers_and_readable_rows(client, analyst, sent_notice):
    client.force_login(analyst)
    response = client.get(reverse("admin:notices_notice_change", args=[sent_notice.pk]))
    html = response.content.decode()
    table = html.split('id="items-group"', 1)[1].split("</table>", 1)[0]
    headers = [
        re.sub(r"<[^>]+>|\s+", " ", h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", table, re.S)
    ]
    headers = [h for h in headers if h]
    assert len(headers) == len(set(headers)), headers
    assert "Removal reported by the provider" in headers and "Removal confirmed by our checks" in headers
    item = sent_notice.items.first()
    assert str(item) == f"Case {item.url_id} in notice {item.notice_id}"
    assert not re.search(r">\s*\d+/\d+\s*<", table)


# --- Filters that refuse what they cannot apply ---------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"queue": "bogus"}, "The filter “queue” (queue) has no choice “bogus”"),
        ({"eu": "maybe"}, "The filter “hosted in an EU member state” (eu) has no choice “maybe”"),
        ({"notice_type": "letter"}, "has no choice “letter”"),
        ({"last_outcome": "sunny"}, "has no choice “sunny”"),
        ({"bogus": "1"}, "There is no filter “bogus” on this list"),
        ({"asn": "ASX"}, "The filter “ASN (current trace)” (asn) cannot use that value"),
    ],
)
def test_a_filter_value_the_list_cannot_apply_is_a_message(
    client, analyst, make_case, provider, now, query, words
):
    make_case("http://files.polder.example/filtered.html", provider=provider, when=now)
    client.force_login(analyst)
    response = client.get(reverse(CHANGELIST), query)
    assert response.status_code == 200  # the list, without the refused parameter: no ?e=1 redirect
    shown = _messages(response)
    assert any(words in message for message in shown), shown
    assert response.context["cl"].result_count == Url.objects.count()


def test_a_refused_filter_keeps_the_others(client, analyst, make_case, provider, other_provider, now):
    make_case("http://files.polder.example/kept.html", provider=provider, when=now)
    make_case("http://other.example/kept.html", provider=other_provider, when=now)
    client.force_login(analyst)
    response = client.get(reverse(CHANGELIST), {"queue": "bogus", "provider__id__exact": provider.pk})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    assert any("no choice “bogus”" in message for message in _messages(response))


def test_offered_values_still_filter(client, analyst, make_case, provider, now):
    make_case("http://files.polder.example/ready.html", provider=provider, when=now)
    client.force_login(analyst)
    for query in ({"queue": "ready"}, {"eu": "yes"}, {"assigned": "nobody"}, {"queue": ""}):
        response = client.get(reverse(CHANGELIST), query)
        assert response.status_code == 200 and _messages(response) == [], query


def test_other_lists_refuse_unknown_choices(client, admin_user):
    client.force_login(admin_user)
    for name, query in [
        ("admin:notices_analystalert_changelist", {"state": "sleeping"}),
        ("admin:notices_clockstop_changelist", {"in_force": "perhaps"}),
        ("admin:notices_event_changelist", {"kind": "url.nothing"}),
    ]:
        response = client.get(reverse(name), query)
        assert response.status_code == 200, name
        assert any("has no choice" in message for message in _messages(response)), name


def test_the_event_list_takes_a_known_kind_none_recorded_yet_as_an_empty_list(client, admin_user):
    from notices.models import Event
    from notices.selectors.timeline import KIND_LABELS, event_kinds

    client.force_login(admin_user)
    unrecorded = sorted(set(KIND_LABELS) - set(event_kinds()))[0]
    response = client.get(reverse("admin:notices_event_changelist"), {"kind": unrecorded})
    assert response.status_code == 200
    assert _messages(response) == []
    assert response.context["cl"].result_count == Event.objects.filter(kind=unrecorded).count() == 0


# --- The capped search count ----------------------------------------------------------------------------


def test_the_search_line_past_the_cap_says_more_than(client, analyst, make_case, provider, now, monkeypatch):
    for n in range(4):
        make_case(f"http://files.polder.example/many/{n}.html", provider=provider, when=now)
    monkeypatch.setattr(CappedPaginator, "COUNT_CAP", 2)
    client.force_login(analyst)
    response = client.get(reverse(CHANGELIST), {"q": provider.name})
    text = " ".join(_text(response).split())
    assert "more than 2 results" in text
    assert "3 results" not in text  # the capped count (cap + 1) is no count
    monkeypatch.setattr(CappedPaginator, "COUNT_CAP", 10)
    text = " ".join(_text(client.get(reverse(CHANGELIST), {"q": provider.name})).split())
    assert "4 results" in text and "more than" not in text
