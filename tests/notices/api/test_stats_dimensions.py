"""The hotline network's vocabulary as statistics dimensions of GET /api/v1/stats/time-to-removal/: age band,
gender, the virtual / user-generated / child-modelling flags, commercial, payment method seen and outcome
reason, as `group_by` values and as filters (notices/selectors/stats.py NETWORK_GROUPS / NETWORK_FILTERS),
on four cases whose figures are worked out by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notices.enums import AgeBand, OutcomeReason, PaymentMethod, VictimGender
from notices.models import RemovalCycle, Url
from notices.services.assessment import assess_url
from tests.conftest import confirm_removed

pytestmark = pytest.mark.django_db

# The four cases' assessments (all illegal, baseline) and TTRs (low = high; None: still up).
PLAN = [
    (
        100,
        {
            "age_band": "prepubescent",
            "victim_gender": "female",
            "virtual_content": True,
            "commercial": True,
            "payment_methods": ["card", "cryptocurrency"],
        },
    ),
    (
        300,
        {
            "age_band": "pubescent",
            "victim_gender": "male",
            "user_generated": True,
            "commercial": True,
            "payment_methods": ["card"],
        },
    ),
    (
        1000,
        {
            "age_band": "prepubescent",
            "victim_gender": "both",
            "child_modelling": True,
            "commercial": False,
            "outcome_reason": "moved",
        },
    ),
    (None, {}),  # the vocabulary not recorded: empty values, flags false, commercial not determined
]


@pytest.fixture
def cases(make_case, make_notice, api_only, analyst, now):
    """Noticed 5 hours ago; three removed after 100, 300 and 1000 s, one still up (its high bound: none)."""
    sent = now - timedelta(hours=5)
    made = [make_case(f"http://files.polder.example/d{i}", provider=api_only, when=sent) for i in range(4)]
    for case, (_, vocabulary) in zip(made, PLAN, strict=True):
        assess_url(
            url=case,
            analyst=analyst,
            legality="illegal_international",
            classification="A1",
            now=sent,
            **vocabulary,
        )
    make_notice(*made, now=sent)
    for case, (ttr, _) in zip(made, PLAN, strict=True):
        if ttr is not None:
            confirm_removed(case, sent=sent, ttr=ttr)
    return made


def _stats(client, query):
    """(key, count, still up, median's high bound) per group: every figure here is exact (the low bound of a
    case still up is its age, which moves with the clock)."""
    response = client.get(f"/api/v1/stats/time-to-removal/?{query}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["source"] == "live"
    return [(g["key"], g["count"], g["still_up"], g["median"]["high"]) for g in body["groups"]]


# Per grouping, by hand. percentile_disc(0.5) takes the ceil(n / 2)-th value: of two cases the first, of
# three the second; the case still up has the high bound ∞ (null), sorted last.
BY_HAND = {
    "age_band": [("prepubescent", 2, 0, 100), ("pubescent", 1, 0, 300), (None, 1, 1, None)],
    "victim_gender": [("both", 1, 0, 1000), ("female", 1, 0, 100), ("male", 1, 0, 300), (None, 1, 1, None)],
    "virtual_content": [(False, 3, 1, 1000), (True, 1, 0, 100)],
    "user_generated": [(False, 3, 1, 1000), (True, 1, 0, 300)],
    "child_modelling": [(False, 3, 1, 300), (True, 1, 0, 1000)],
    "commercial": [(False, 1, 0, 1000), (True, 2, 0, 100), (None, 1, 1, None)],
    # A case counts under every method seen; none seen: the group without a key.
    "payment_method": [("card", 2, 0, 100), ("cryptocurrency", 1, 0, 100), (None, 2, 1, 1000)],
    "outcome_reason": [("moved", 1, 0, 1000), (None, 3, 1, 300)],
}


@pytest.mark.parametrize("group_by", list(BY_HAND))
def test_stats_group_by_network_dimension(staff_api, cases, group_by):
    assert _stats(staff_api, f"group_by={group_by}") == BY_HAND[group_by]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("age_band=prepubescent", (2, 0, 100)),
        ("age_band=infant", None),
        ("victim_gender=male", (1, 0, 300)),
        ("virtual_content=true", (1, 0, 100)),
        ("virtual_content=false", (3, 1, 1000)),
        ("user_generated=1", (1, 0, 300)),
        ("child_modelling=true", (1, 0, 1000)),
        ("commercial=true", (2, 0, 100)),
        ("commercial=false", (1, 0, 1000)),
        ("payment_method=card", (2, 0, 100)),
        ("payment_method=cryptocurrency", (1, 0, 100)),
        ("payment_method=e_wallet", None),
        ("outcome_reason=moved", (1, 0, 1000)),
        ("outcome_reason=duplicate", None),
        ("commercial=true&victim_gender=female", (1, 0, 100)),
    ],
)
def test_stats_filter_by_network_dimension(staff_api, cases, query, expected):
    groups = _stats(staff_api, f"group_by=provider&{query}")
    assert groups == ([] if expected is None else [("polder", *expected)])


def test_stats_empty_network_filter_is_no_filter(staff_api, cases):
    """As for every statistics parameter, an empty value (a form's field left empty) is no filter."""
    assert _stats(staff_api, "group_by=provider&virtual_content=&payment_method=") == [("polder", 4, 1, 300)]


def test_stats_network_filter_and_grouping_combine(staff_api, cases):
    assert _stats(staff_api, "group_by=payment_method&age_band=prepubescent") == [
        ("card", 1, 0, 100),
        ("cryptocurrency", 1, 0, 100),
        (None, 1, 0, 1000),
    ]
    assert _stats(staff_api, "group_by=age_band&commercial=true") == [
        ("prepubescent", 1, 0, 100),
        ("pubescent", 1, 0, 300),
    ]
    # With a filter the columns hold (the country at first notice) as well.
    assert _stats(staff_api, "group_by=virtual_content&country=nl&eu=true") == BY_HAND["virtual_content"]
    assert _stats(staff_api, "group_by=virtual_content&country=BG") == []


def test_stats_payment_method_counts_finished_cycles(staff_api, cases):
    """A reappeared case's finished cycle is grouped by its URL's current assessment, once per method."""
    case = Url.objects.get(pk=cases[0].pk)
    sent = case.first_notice_sent_at - timedelta(days=3)
    RemovalCycle.objects.create(
        url=case,
        provider_at_notice=case.provider_at_notice,
        country_at_notice="NL",
        first_notice_sent_at=sent,
        removal_confirmed_at=sent + timedelta(seconds=60),
        removed_low=sent + timedelta(seconds=10),
        removed_high=sent + timedelta(seconds=20),
        ttr_low=10,
        ttr_high=20,
        reappeared_at=sent + timedelta(days=1),
    )
    # card: highs 20, 100, 300 (the second); cryptocurrency: 20, 100 (the first).
    assert _stats(staff_api, "group_by=payment_method") == [
        ("card", 3, 0, 100),
        ("cryptocurrency", 2, 0, 20),
        (None, 2, 1, 1000),
    ]
    response = staff_api.get("/api/v1/stats/time-to-removal/?group_by=provider&payment_method=cryptocurrency")
    (group,) = response.json()["groups"]
    assert (group["count"], group["reappeared"], group["median"]) == (2, 1, {"low": 10, "high": 20})


def test_stats_network_dimension_counts_closed_cases_apart(staff_api, cases):
    Url.objects.filter(pk=cases[3].pk).update(status="closed")
    assert _stats(staff_api, "group_by=commercial") == [(False, 1, 0, 1000), (True, 2, 0, 100)]
    response = staff_api.get("/api/v1/stats/time-to-removal/?group_by=age_band")
    closed = {g["key"]: g["closed"] for g in response.json()["groups"]}
    assert closed == {"prepubescent": 0, "pubescent": 0}  # the closed case has no group of its own


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("group_by=gender", "group_by"),
        ("group_by=payment_methods", "group_by"),
        ("age_band=toddler", "age_band"),
        ("victim_gender=other", "victim_gender"),
        ("virtual_content=maybe", "virtual_content"),
        ("user_generated=null", "user_generated"),
        ("child_modelling=2", "child_modelling"),
        ("commercial=unknown", "commercial"),
        ("payment_method=paypal", "payment_method"),
        ("outcome_reason=lost", "outcome_reason"),
        ("payment_methods=card", "payment_methods"),
        ("gender=female", "gender"),
    ],
)
def test_stats_bad_network_dimension_is_400(staff_api, query, field):
    response = staff_api.get(f"/api/v1/stats/time-to-removal/?{query}")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {field}
    assert body[field] and all(isinstance(message, str) for message in body[field])


@pytest.fixture
def schema(api_client):
    return api_client.get("/api/schema/?format=json").json()


def _resolved(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("age_band", AgeBand.values),
        ("victim_gender", VictimGender.values),
        ("payment_method", PaymentMethod.values),
        ("outcome_reason", OutcomeReason.values),
    ],
)
def test_schema_lists_network_filter_enum(schema, name, values):
    parameters = schema["paths"]["/api/v1/stats/time-to-removal/"]["get"]["parameters"]
    (parameter,) = [p for p in parameters if p["name"] == name]
    assert (parameter["in"], _resolved(schema, parameter["schema"])["enum"]) == ("query", values)


def test_schema_lists_network_flags_and_groupings(schema):
    parameters = {
        p["name"]: _resolved(schema, p["schema"])
        for p in schema["paths"]["/api/v1/stats/time-to-removal/"]["get"]["parameters"]
    }
    for flag in ("virtual_content", "user_generated", "child_modelling", "commercial"):
        assert parameters[flag]["type"] == "boolean", flag
    assert set(parameters["group_by"]["enum"]) >= set(BY_HAND) | {"classification", "site_type"}
