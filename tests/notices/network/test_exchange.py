"""Exchange with the hotline network: packages valid against notices/schemas/exchange-v1.json, a round trip
(export → import into a database without the cases → export equal), per-record errors, the commands, the
staff API, and the hand-off record carrying the package."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone
from jsonschema import Draft202012Validator

from notices.enums import (
    AgeBand,
    Classification,
    ExchangeAction,
    MediaType,
    NetworkClassification,
    OutcomeReason,
    PaymentMethod,
    SiteType,
    VictimGender,
)
from notices.models import AuditEvent, Event, NetworkLink, Partner, Report, Url
from notices.selectors.exchange import case_records, exchange_cases, exchange_schema, package
from notices.services.assessment import assess_url
from notices.services.exchange import ExchangeError, import_package
from notices.services.intake import ReportInput, submit_report

pytestmark = pytest.mark.django_db


class _Rollback(Exception):
    """Raised to undo everything a block wrote (events are append-only: a rollback is the clean way)."""


@pytest.fixture
def make_rich_cases(make_case, make_notice, api_only, analyst):
    """Factory: three cases — one noticed with the whole vocabulary and two hashes, one only reported, one
    assessed not illegal with an outcome reason."""

    def _make(now):
        noticed = make_case(
            "http://files.polder.example/rich.html", provider=api_only, when=now - timedelta(days=2)
        )
        assess_url(
            url=noticed,
            analyst=analyst,
            legality="illegal_international",
            classification="A1",
            media_type="image",
            age_band="prepubescent",
            victim_gender="female",
            virtual_content=True,
            user_generated=True,
            site_type="image_host",
            commercial=True,
            payment_methods=["cryptocurrency", "card"],
            now=now - timedelta(days=2),
        )
        Report.objects.filter(url=noticed).update(
            hashes=[{"algorithm": "sha256", "value": "ab" * 32}, {"algorithm": "md5", "value": "cd" * 16}]
        )
        make_notice(noticed, now=now - timedelta(days=1))
        reported = submit_report(item=ReportInput(url="http://img.balkan.example/only-reported"), now=now)
        moved = make_case("http://files.polder.example/moved.html", provider=api_only, when=now)
        assess_url(url=moved, analyst=analyst, legality="not_illegal", outcome_reason="moved", now=now)
        return [noticed.pk, reported.url_id, moved.pk]

    return _make


def _export() -> dict:
    return package(case_records(exchange_cases()), now=timezone.now())


def _exported_then_undone(make_rich_cases, now) -> dict:
    """The package of the three cases, made in a transaction that is then rolled back: the database is left
    without them, as the receiving hotline's would be."""
    try:
        with transaction.atomic():
            make_rich_cases(now)
            document = _export()
            raise _Rollback
    except _Rollback:
        pass
    assert Url.objects.count() == 0
    return document


def test_schema_is_a_valid_json_schema_and_names_our_enums_exactly():
    schema = exchange_schema()
    Draft202012Validator.check_schema(schema)
    defs = schema["$defs"]["assessment"]["properties"]
    for name, enum in [
        ("classification", NetworkClassification),
        ("xarf_classification", Classification),
        ("media_type", MediaType),
        ("age_band", AgeBand),
        ("gender", VictimGender),
        ("site_type", SiteType),
    ]:
        assert [v for v in defs[name]["enum"] if v is not None] == list(enum.values), name
    assert defs["payment_methods"]["items"]["enum"] == list(PaymentMethod.values)
    action = schema["$defs"]["case"]["properties"]["action"]["properties"]
    assert action["code"]["enum"] == list(ExchangeAction.values)
    assert [v for v in action["reason"]["enum"] if v is not None] == list(OutcomeReason.values)


def test_export_is_valid_against_the_schema_and_says_what_we_know(make_rich_cases, api_only, now):
    make_rich_cases(now)
    document = _export()
    assert list(Draft202012Validator(exchange_schema()).iter_errors(document)) == []
    noticed, reported, moved = document["cases"]
    assert noticed["assessment"] == {
        "classification": "baseline",
        "xarf_classification": "A1",
        "media_type": "image",
        "age_band": "prepubescent",
        "gender": "female",
        "virtual": True,
        "user_generated": True,
        "child_modelling": False,
        "site_type": "image_host",
        "commercial": True,
        "payment_methods": ["card", "cryptocurrency"],
    }
    assert noticed["hashes"] == [
        {"algorithm": "md5", "value": "cd" * 16},
        {"algorithm": "sha256", "value": "ab" * 32},
    ]
    assert noticed["hosting"] == {"country": "NL", "asn": 64500, "provider": api_only.name}
    assert noticed["action"] == {"code": "notice_sent", "reason": None}
    assert noticed["timestamps"]["actioned_at"] == (now - timedelta(days=1)).isoformat().replace(
        "+00:00", "Z"
    )
    assert (noticed["origin"], noticed["url"]) == (
        {"name": "Demo Hotline", "country": "DE"},
        "http://files.polder.example/rich.html",
    )
    assert (reported["assessment"], reported["action"]["code"], reported["hashes"]) == (None, "none", [])
    assert moved["assessment"]["classification"] == "not_illegal"
    assert moved["action"] == {"code": "closed", "reason": "moved"}


def test_round_trip_export_import_into_a_clean_database_export_equal(make_rich_cases, settings, now):
    first = _exported_then_undone(make_rich_cases, now)
    settings.HOTLINE_NAME, settings.HOTLINE_COUNTRY = "Polder Hotline", "NL"  # the receiving hotline

    result = import_package(document=first, now=now)

    assert (len(result.created), result.linked, result.errors) == (3, [], [])
    second = _export()
    assert second["cases"] == first["cases"]
    assert second["sender"] == {"name": "Polder Hotline", "country": "NL"}
    links = NetworkLink.objects.select_related("partner").order_by("url_id")
    assert [(link.partner.name, link.role, link.partner_reference) for link in links] == [
        ("Demo Hotline", "received_from", case["reference"]) for case in first["cases"]
    ]
    # The sender had noticed the first case: our own notice to that provider is held; the others are not.
    assert [link.holds_notices for link in links] == [True, False, False]
    assert Partner.objects.get(name="Demo Hotline").country == "DE"


def test_import_twice_changes_nothing(make_rich_cases, settings, now):
    document = _exported_then_undone(make_rich_cases, now)
    settings.HOTLINE_NAME = "Polder Hotline"
    import_package(document=document, now=now)
    events = Event.objects.count()
    again = import_package(document=document, now=now)
    assert (again.created, len(again.unchanged), again.errors) == ([], 3, [])
    assert Event.objects.count() == events


def test_import_links_a_case_we_already_have_without_touching_it(
    make_rich_cases, make_case, api_only, settings, now
):
    document = _exported_then_undone(make_rich_cases, now)
    ours = make_case("http://files.polder.example/rich.html", provider=api_only, when=now)
    settings.HOTLINE_NAME = "Polder Hotline"
    result = import_package(document=document, now=now)
    assert (result.linked, len(result.created)) == ([ours.pk], 2)
    ours.refresh_from_db()
    assert ours.current_assessment.classification == "A1" and ours.current_assessment.site_type == ""
    link = NetworkLink.objects.get(url=ours)
    assert (link.partner.name, link.provider, link.holds_notices) == ("Demo Hotline", api_only, True)
    assert Event.objects.get(kind="url.network_linked", url=ours).data == {
        "partner": "Demo Hotline",
        "role": "received_from",
        "reference": str(document["cases"][0]["reference"]),
        "notices_held_for": api_only.slug,
    }


def test_import_reports_each_bad_record_and_imports_the_others(make_rich_cases, settings, now):
    document = _exported_then_undone(make_rich_cases, now)
    settings.HOTLINE_NAME = "Polder Hotline"
    document["cases"][0]["assessment"]["site_type"] = "darkweb"
    document["cases"][1]["url"] = "ftp://files.example/x"
    document["cases"][2]["colour"] = "red"
    document["cases"].append({**document["cases"][2], "url": "http://files.polder.example/ok.html"})
    del document["cases"][3]["colour"]

    result = import_package(document=document, now=now)

    assert [(e["index"], e["reference"]) for e in result.errors] == [
        (0, document["cases"][0]["reference"]),
        (1, document["cases"][1]["reference"]),
        (2, document["cases"][2]["reference"]),
    ]
    assert (
        "assessment/site_type" in result.errors[0]["errors"][0]
        and "'darkweb'" in result.errors[0]["errors"][0]
    )
    assert result.errors[1]["errors"][0].startswith("url: ")
    assert "colour" in result.errors[2]["errors"][0]
    assert list(Url.objects.values_list("canonical", flat=True)) == ["http://files.polder.example/ok.html"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"format": "x-arf"}, "format"),
        ({"version": 2}, "version"),
        ({"sender": {"name": ""}}, "sender"),
        ({"cases": {}}, "cases"),
    ],
)
def test_import_refuses_what_is_not_a_package(change, field, settings, now):
    document = {
        "format": "hotline-exchange",
        "version": 1,
        "sender": {"name": "Other", "country": "BE"},
        "cases": [],
        **change,
    }
    with pytest.raises(ExchangeError) as refused:
        import_package(document=document, now=now)
    assert list(refused.value.errors) == [field]


def test_import_refuses_our_own_package(now):
    document = package([], now=now)
    with pytest.raises(ExchangeError) as refused:
        import_package(document=document, now=now)
    assert refused.value.errors == {"sender": ["This package is our own (the sender is this hotline)."]}


def test_commands_export_and_import_round_trip(make_rich_cases, settings, tmp_path, now, capsys):
    path = tmp_path / "cases.json"
    try:
        with transaction.atomic():
            make_rich_cases(now)
            call_command("export_cases", output=str(path), no_progress=True)
            first = json.loads(path.read_text())
            raise _Rollback
    except _Rollback:
        pass
    assert len(first["cases"]) == 3 and list(Draft202012Validator(exchange_schema()).iter_errors(first)) == []
    settings.HOTLINE_NAME = "Polder Hotline"
    call_command("import_cases", str(path), no_progress=True)
    assert "3 new case(s), 0 known case(s) linked, 0 already imported, 0 refused" in capsys.readouterr().out
    again = tmp_path / "again.json"
    call_command("export_cases", output=str(again), no_progress=True)
    assert json.loads(again.read_text())["cases"] == first["cases"]
    assert AuditEvent.objects.filter(action__in=["exchange.export", "exchange.import"]).count() == 2


def test_import_command_names_file_line_and_refused_records(tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "hotline-exchange",\n "version": 1,\n oops}')
    with pytest.raises(CommandError) as error:
        call_command("import_cases", str(broken), no_progress=True)
    assert str(error.value).startswith(f"{broken}:3:2: not JSON")
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "format": "hotline-exchange",
                "version": 1,
                "sender": {"name": "BE", "country": "BE"},
                "cases": [{"reference": "R-1"}],
            }
        )
    )
    with pytest.raises(CommandError) as error:
        call_command("import_cases", str(bad), no_progress=True)
    assert str(error.value) == f"{bad}: 1 record(s) refused"
    assert f"{bad}: record 0 (R-1): (record): 'origin' is a required property" in capsys.readouterr().err


def test_api_export_pages_and_import(staff_api, make_rich_cases, settings, now):
    ids = make_rich_cases(now)
    response = staff_api.get("/api/v1/exchange/cases/?limit=2")
    assert response.status_code == 200
    assert [c["reference"] for c in response.json()["cases"]] == [str(pk) for pk in ids[:2]]
    assert f"after={ids[1]}" in response["Link"] and response["Link"].endswith('rel="next"')
    rest = staff_api.get(f"/api/v1/exchange/cases/?limit=2&after={ids[1]}")
    assert [c["reference"] for c in rest.json()["cases"]] == [str(ids[2])] and "Link" not in rest
    assert staff_api.get("/api/v1/exchange/cases/?colour=red").status_code == 400
    audited = AuditEvent.objects.filter(action="exchange.export").order_by("pk")
    assert [row.data["urls"] for row in audited] == [ids[:2], ids[2:]]

    settings.HOTLINE_NAME = "Polder Hotline"
    document = response.json()
    answer = staff_api.post("/api/v1/exchange/cases/", document, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"created": 0, "linked": 2, "unchanged": 0, "failed": 0, "errors": []}
    refused = staff_api.post("/api/v1/exchange/cases/", {"format": "nope"}, format="json")
    assert refused.status_code == 400 and "format" in refused.json()
    assert staff_api.post("/api/v1/exchange/cases/", [1, 2], format="json").status_code == 400


def test_import_refuses_text_the_database_cannot_store(make_rich_cases, settings, now):
    document = _exported_then_undone(make_rich_cases, now)
    settings.HOTLINE_NAME = "Polder Hotline"
    document["cases"][0]["reference"] = "R\x00-1"
    document["cases"][1]["hosting"]["provider"] = "\ud800"
    result = import_package(document=document, now=now)
    assert [(e["index"], e["errors"]) for e in result.errors] == [
        (0, ["Text must not contain NUL characters or lone surrogates."]),
        (1, ["Text must not contain NUL characters or lone surrogates."]),
    ]
    assert len(result.created) == 1
