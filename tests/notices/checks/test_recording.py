"""record_observations: removal confirmation (K gone, M apart), the removal interval, TTR, cadence,
reopening."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings

from notices.checks.classify import Outcome
from notices.checks.engine import Observation
from notices.checks.scheduling import claim_due
from notices.models import Check, DueCheck, Event, Notice, NoticeItem, RemovalCycle, Url
from notices.services.checking import record_observations

pytestmark = pytest.mark.usefixtures("removal_settings")


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def observation(case: Url, outcome: str, at, **fields) -> Observation:
    values = {
        "key": case.pk,
        "outcome": Outcome(outcome),
        "status_code": {"live": 200, "gone": 404, "blocked": 403, "unknown": None}[outcome],
        "final_url": case.canonical,
        "error_class": "read_timeout" if outcome == "unknown" else "",
        "resolved_ip": "198.51.100.10",
        "redirects": 0,
        "elapsed_ms": 12,
        "checked_at": at,
        "vantage": "direct",
    }
    return Observation(**{**values, **fields})


def record(case: Url, *steps: tuple[str, timedelta], start) -> int:
    """Record each (outcome, offset from `start`) as its own batch, as successive checks would; sum
    removals."""
    removals = 0
    for outcome, offset in steps:
        removals += record_observations([observation(case, outcome, start + offset)], now=start + offset)
    case.refresh_from_db()
    return removals


def removal_state(case: Url) -> tuple:
    return (
        case.status,
        case.removal_confirmed_at,
        case.removed_low,
        case.removed_high,
        case.ttr_low,
        case.ttr_high,
    )


def test_record_observations_empty_batch_writes_nothing(db, now):
    assert record_observations([], now=now) == 0
    assert Check.objects.count() == 0


def test_record_observations_stores_one_check_per_observation(notified_case, now):
    case = notified_case()
    record_observations(
        [
            observation(case, "live", now + minutes(5)),
            observation(case, "unknown", now + minutes(15), resolved_ip="", elapsed_ms=30000),
            observation(
                case,
                "gone",
                now + minutes(25),
                status_code=410,
                redirects=2,
                final_url="http://files.polder.example/removed",
                vantage="192.0.2.8:3128",
            ),
        ],
        now=now + minutes(25),
    )
    rows = list(
        Check.objects.order_by("checked_at").values_list(
            "url_id",
            "checked_at",
            "outcome",
            "status_code",
            "final_url",
            "error_class",
            "resolved_ip",
            "elapsed_ms",
            "redirects",
            "vantage",
        )
    )
    assert rows == [
        (case.pk, now + minutes(5), "live", 200, case.canonical, "", "198.51.100.10", 12, 0, "direct"),
        (
            case.pk,
            now + minutes(15),
            "unknown",
            None,
            case.canonical,
            "read_timeout",
            None,
            30000,
            0,
            "direct",
        ),
        (
            case.pk,
            now + minutes(25),
            "gone",
            410,
            "http://files.polder.example/removed",
            "",
            "198.51.100.10",
            12,
            2,
            "192.0.2.8:3128",
        ),
    ]


def test_record_observations_confirms_removal_after_k_gone_m_apart(notified_case, now):
    case = notified_case()

    removals = record(case, ("live", minutes(5)), ("gone", minutes(20)), ("gone", minutes(30)), start=now)

    assert removals == 1
    assert removal_state(case) == (
        "removed",
        now + minutes(30),
        now + minutes(5),
        now + minutes(20),
        300,
        1200,
    )
    assert (case.consecutive_gone, case.last_live_at, case.first_gone_at, case.last_gone_at) == (
        2,
        now + minutes(5),
        now + minutes(20),
        now + minutes(30),
    )
    event = Event.objects.get(kind="url.removed")
    assert (event.url_id, event.at) == (case.pk, now + minutes(30))
    assert event.data == {
        "removed_low": (now + minutes(5)).isoformat(),
        "removed_high": (now + minutes(20)).isoformat(),
        "ttr_low": 300,
        "ttr_high": 1200,
    }


def test_record_observations_one_batch_is_applied_in_time_order(notified_case, now):
    case = notified_case()
    batch = [
        observation(case, "gone", now + minutes(30)),
        observation(case, "live", now + minutes(5)),
        observation(case, "gone", now + minutes(20)),
    ]

    assert record_observations(batch, now=now + minutes(31)) == 1

    case.refresh_from_db()
    assert removal_state(case) == (
        "removed",
        now + minutes(30),
        now + minutes(5),
        now + minutes(20),
        300,
        1200,
    )
    assert case.last_checked_at == now + minutes(30)


def test_record_observations_first_gone_alone_does_not_confirm(notified_case, now):
    case = notified_case()

    assert record(case, ("live", minutes(5)), ("gone", minutes(20)), start=now) == 0

    assert removal_state(case) == ("notified", None, None, None, None, None)
    assert (case.consecutive_gone, case.first_gone_at, case.last_gone_at) == (
        1,
        now + minutes(20),
        now + minutes(20),
    )
    assert Event.objects.filter(kind="url.removed").count() == 0


def test_record_observations_gone_closer_than_m_does_not_count(notified_case, now):
    case = notified_case()

    assert record(case, ("gone", minutes(20)), ("gone", minutes(29)), start=now) == 0
    assert (case.status, case.consecutive_gone, case.last_gone_at) == ("notified", 1, now + minutes(20))

    # Spacing is measured from the last gone that counted (20 min), not from the one ignored at 29 min.
    assert record(case, ("gone", minutes(30)), start=now) == 1
    assert removal_state(case) == ("removed", now + minutes(30), now, now + minutes(20), 0, 1200)


def test_record_observations_unknown_neither_counts_nor_breaks_a_run(notified_case, now):
    case = notified_case()

    removals = record(
        case,
        ("live", minutes(5)),
        ("gone", minutes(20)),
        ("unknown", minutes(26)),
        ("unknown", minutes(31)),
        start=now,
    )
    assert removals == 0
    assert (case.status, case.consecutive_gone, case.first_gone_at) == ("notified", 1, now + minutes(20))
    assert (case.last_outcome, case.last_checked_at) == ("unknown", now + minutes(31))

    assert record(case, ("gone", minutes(32)), start=now) == 1
    assert removal_state(case) == (
        "removed",
        now + minutes(32),
        now + minutes(5),
        now + minutes(20),
        300,
        1200,
    )


def test_record_observations_unknown_only_never_starts_a_run(notified_case, now):
    case = notified_case()

    assert record(case, *[("unknown", minutes(10 * n)) for n in range(1, 6)], start=now) == 0

    assert (case.status, case.consecutive_gone, case.first_gone_at, case.last_live_at) == (
        "notified",
        0,
        None,
        None,
    )


def test_record_observations_live_resets_the_run(notified_case, now):
    case = notified_case()

    assert record(case, ("gone", minutes(20)), ("live", minutes(25)), start=now) == 0
    assert (case.consecutive_gone, case.first_gone_at, case.last_gone_at, case.last_live_at) == (
        0,
        None,
        None,
        now + minutes(25),
    )

    # 40 min is 20 min after the first gone, but the live at 25 min ended that run: 40 min starts a new one.
    assert record(case, ("gone", minutes(40)), start=now) == 0
    assert (case.status, case.consecutive_gone) == ("notified", 1)
    assert record(case, ("gone", minutes(50)), start=now) == 1
    assert removal_state(case) == (
        "removed",
        now + minutes(50),
        now + minutes(25),
        now + minutes(40),
        1500,
        2400,
    )


def test_record_observations_needs_k_gone_when_k_is_three(notified_case, now, settings):
    settings.REMOVAL_CONFIRMATIONS = 3
    case = notified_case()

    assert record(case, ("gone", minutes(20)), ("gone", minutes(30)), start=now) == 0
    assert (case.status, case.consecutive_gone) == ("notified", 2)
    assert record(case, ("gone", minutes(40)), start=now) == 1
    assert removal_state(case) == ("removed", now + minutes(40), now, now + minutes(20), 0, 1200)


def test_record_observations_with_k_one_confirms_at_first_gone(notified_case, now, settings):
    settings.REMOVAL_CONFIRMATIONS = 1
    case = notified_case()

    assert record(case, ("live", minutes(5)), ("gone", minutes(7)), start=now) == 1
    assert removal_state(case) == ("removed", now + minutes(7), now + minutes(5), now + minutes(7), 300, 420)


def test_record_observations_live_before_notice_does_not_lower_the_interval(notified_case, now):
    """The removal interval starts no earlier than the notice: it was live when the notice went out."""
    case = notified_case()
    Url.objects.filter(pk=case.pk).update(last_live_at=now - timedelta(hours=3))

    assert record(case, ("gone", minutes(20)), ("gone", minutes(30)), start=now) == 1
    assert removal_state(case) == ("removed", now + minutes(30), now, now + minutes(20), 0, 1200)


def test_record_observations_blocked_is_unknown_by_default(notified_case, now):
    case = notified_case()

    removals = record(
        case,
        ("live", minutes(5)),
        ("blocked", minutes(20)),
        ("blocked", minutes(30)),
        ("blocked", minutes(40)),
        start=now,
    )

    assert removals == 0
    assert (case.status, case.consecutive_gone, case.first_gone_at) == ("notified", 0, None)
    assert (case.last_outcome, case.last_live_at) == ("blocked", now + minutes(5))
    assert list(Check.objects.order_by("checked_at").values_list("outcome", flat=True)) == [
        "live",
        "blocked",
        "blocked",
        "blocked",
    ]


def test_record_observations_blocked_in_a_gone_run_does_not_break_it(notified_case, now):
    case = notified_case()

    assert (
        record(case, ("gone", minutes(20)), ("blocked", minutes(30)), ("gone", minutes(31)), start=now) == 1
    )
    assert removal_state(case) == ("removed", now + minutes(31), now, now + minutes(20), 0, 1200)


def test_record_observations_blocked_counts_as_gone_where_provider_agreed(make_provider, notified_case, now):
    provider = make_provider("strict", prefix=None, channel="api_only", blocked_counts_as_gone=True)
    case = notified_case(provider=provider)

    removals = record(
        case, ("live", minutes(5)), ("blocked", minutes(20)), ("blocked", minutes(30)), start=now
    )

    assert removals == 1
    assert removal_state(case) == (
        "removed",
        now + minutes(30),
        now + minutes(5),
        now + minutes(20),
        300,
        1200,
    )
    assert case.last_outcome == "blocked"


def test_record_observations_live_after_removal_reopens_the_case(notified_case, now):
    case = notified_case()
    record(case, ("live", minutes(5)), ("gone", minutes(20)), ("gone", minutes(30)), start=now)

    assert record(case, ("live", minutes(120)), start=now) == 0

    # A new notice cycle starts: awaiting a new notice, cycle fields cleared, checked before that notice.
    assert removal_state(case) == ("assessed", None, None, None, None, None)
    assert (case.first_notice_sent_at, case.provider_at_notice_id, case.country_at_notice) == (None, None, "")
    assert (case.reappearance_count, case.last_live_at, case.consecutive_gone, case.first_gone_at) == (
        1,
        now + minutes(120),
        0,
        None,
    )
    assert case.next_check_at == now + minutes(120) + timedelta(seconds=settings.CHECK_INTERVAL_BEFORE_NOTICE)
    event = Event.objects.get(kind="url.reappeared")
    assert (event.url_id, event.at) == (case.pk, now + minutes(120))
    assert event.data == {
        "removed_low": str(now + minutes(5)),
        "removed_high": str(now + minutes(20)),
        "ttr_low": 300,
        "ttr_high": 1200,
    }
    # The finished cycle is kept for statistics, counted against the provider it was noticed to.
    (cycle,) = RemovalCycle.objects.filter(url=case)
    assert (cycle.ttr_low, cycle.ttr_high, cycle.reappeared_at) == (300, 1200, now + minutes(120))
    assert cycle.provider_at_notice_id is not None


def test_record_observations_reopened_case_needs_a_new_notice_then_measures_from_it(
    notified_case, notify, now
):
    case = notified_case()
    record(
        case,
        ("live", minutes(5)),
        ("gone", minutes(20)),
        ("gone", minutes(30)),
        ("live", minutes(120)),
        start=now,
    )
    notify(case, at=now + minutes(130))
    case.refresh_from_db()

    assert record(case, ("gone", minutes(140)), ("gone", minutes(150)), start=now) == 1

    # TTR runs from the new cycle's first notice; the interval is [the reappearance's last live, new first
    # gone].
    assert removal_state(case) == (
        "removed",
        now + minutes(150),
        now + minutes(130),
        now + minutes(140),
        0,
        600,
    )
    assert (case.reappearance_count, Event.objects.filter(kind="url.removed").count()) == (1, 2)


def test_record_observations_gone_after_removal_keeps_the_first_interval(notified_case, now):
    case = notified_case()
    record(case, ("live", minutes(5)), ("gone", minutes(20)), ("gone", minutes(30)), start=now)

    assert record(case, ("gone", minutes(30) + timedelta(days=1)), start=now) == 0

    assert removal_state(case) == (
        "removed",
        now + minutes(30),
        now + minutes(5),
        now + minutes(20),
        300,
        1200,
    )
    assert Event.objects.filter(kind="url.removed").count() == 1


def test_record_observations_next_check_follows_the_first_day_cadence(notified_case, now):
    case = notified_case()
    assert case.next_check_at == now  # the first check is due as soon as the notice is sent

    record(case, ("live", minutes(5)), start=now)
    assert case.next_check_at == now + minutes(15)
    record(case, ("unknown", minutes(15)), start=now)
    assert case.next_check_at == now + minutes(25)


def test_record_observations_next_check_confirms_a_gone_run_after_m(notified_case, now, settings):
    settings.CHECK_INTERVAL_FIRST_DAY = 3600
    case = notified_case()

    record(case, ("gone", minutes(20)), start=now)
    assert case.next_check_at == now + minutes(30)  # M after the gone, sooner than the hourly routine check
    record(case, ("gone", minutes(25)), start=now)  # too early to count: the next check stays M after 20 min
    assert case.next_check_at == now + minutes(30)


def test_record_observations_next_check_slows_down_with_age(notified_case, now):
    week_old = notified_case("week.html", at=now - timedelta(days=2))
    month_old = notified_case("month.html", at=now - timedelta(days=8))

    record_observations([observation(week_old, "live", now), observation(month_old, "live", now)], now=now)

    week_old.refresh_from_db()
    month_old.refresh_from_db()
    assert (week_old.next_check_at, month_old.next_check_at) == (
        now + timedelta(hours=1),
        now + timedelta(hours=6),
    )


def test_record_observations_next_check_after_removal_watches_for_reappearance(notified_case, now, settings):
    case = notified_case()
    record(case, ("gone", minutes(20)), ("gone", minutes(30)), start=now)
    assert case.next_check_at == now + minutes(30) + timedelta(days=1)

    settings.REAPPEARANCE_WATCH = 36 * 3600
    record(case, ("gone", minutes(30) + timedelta(days=1)), start=now)
    assert case.next_check_at is None  # another day would end past the 36-hour watch


def test_record_observations_gone_before_any_notice_is_not_a_removal(make_case, provider, now):
    case = make_case(provider=provider, when=now)

    assert record(case, ("gone", minutes(20)), ("gone", minutes(30)), start=now) == 0

    assert (case.status, case.next_check_at, case.consecutive_gone) == ("gone_before_notice", None, 2)
    assert (case.ttr_low, case.ttr_high) == (None, None)
    assert Check.objects.filter(url=case).count() == 2
    assert Event.objects.filter(url=case, kind="url.gone_before_notice").count() == 1


def test_record_observations_clears_the_check_claim(notified_case, now):
    case = notified_case()
    Url.objects.filter(pk=case.pk).update(next_check_at=now)
    assert [c.url_id for c in claim_due(now=now, limit=10)] == [case.pk]

    record(case, ("live", minutes(1)), start=now)

    assert case.next_check_at == now + minutes(11)
    assert DueCheck.objects.values_list("due_at", "claimed_until").get(url=case) == (now + minutes(11), None)


def test_record_observations_closes_items_and_the_notice_when_all_removed(
    make_case, api_provider, notify, now
):
    first = make_case("http://files.polder.example/a.html", provider=api_provider, when=now)
    second = make_case("http://files.polder.example/b.html", provider=api_provider, when=now)
    notice = notify(first, second, at=now)

    removals = record_observations(
        [
            observation(first, "gone", now + minutes(20)),
            observation(second, "gone", now + minutes(20)),
            observation(first, "gone", now + minutes(30)),
        ],
        now=now + minutes(30),
    )
    assert removals == 1
    items = NoticeItem.objects.filter(notice=notice).order_by("url_id")
    assert list(items.values_list("url_id", "status", "is_open", "removed_at")) == [
        (first.pk, "removed", False, now + minutes(30)),
        (second.pk, "open", True, None),
    ]
    notice.refresh_from_db()
    assert (notice.status, notice.closed_at) == ("sent", None)

    assert record_observations([observation(second, "gone", now + minutes(40))], now=now + minutes(40)) == 1

    assert list(items.values_list("url_id", "status", "is_open", "removed_at")) == [
        (first.pk, "removed", False, now + minutes(30)),
        (second.pk, "removed", False, now + minutes(40)),
    ]
    notice.refresh_from_db()
    assert (notice.status, notice.closed_at) == ("closed", now + minutes(40))
    assert list(Event.objects.filter(kind="notice.closed").values_list("notice_id", "at")) == [
        (notice.pk, now + minutes(40))
    ]


def test_record_observations_leaves_other_notices_open(make_case, api_provider, notify, now):
    first = make_case("http://files.polder.example/a.html", provider=api_provider, when=now)
    other = make_case("http://files.polder.example/other.html", provider=api_provider, when=now)
    notice = notify(first, at=now)
    other_notice = notify(other, at=now)

    record(first, ("gone", minutes(20)), ("gone", minutes(30)), start=now)

    assert dict(Notice.objects.values_list("pk", "status")) == {notice.pk: "closed", other_notice.pk: "sent"}


def test_record_observations_second_vantage_point_required_to_confirm(notified_case, now, settings):
    settings.CHECKER_VANTAGE_POINTS = ["direct", "http://proxy.example:3128"]
    case = notified_case()
    first = observation(case, "gone", now + minutes(20))
    same = observation(case, "gone", now + minutes(30))
    other = observation(case, "gone", now + minutes(40), vantage="proxy.example:3128")

    assert record_observations([first], now=now + minutes(20)) == 0
    assert record_observations([same], now=now + minutes(30)) == 0  # same vantage point: not the K-th gone
    case.refresh_from_db()
    assert (case.status, case.consecutive_gone, case.first_gone_vantage) == ("notified", 1, "direct")
    assert record_observations([other], now=now + minutes(40)) == 1
    case.refresh_from_db()
    assert (case.status, case.removed_high) == ("removed", now + minutes(20))


def test_record_observations_new_address_queues_a_retrace(
    notified_case, now, django_capture_on_commit_callbacks
):
    case = notified_case()
    moved = observation(case, "live", now + minutes(5), resolved_ip="203.0.113.9")

    with django_capture_on_commit_callbacks() as callbacks:
        record_observations([moved], now=now + minutes(5))
    assert len(callbacks) == 1  # the trace task for this URL

    with django_capture_on_commit_callbacks() as callbacks:
        record_observations([observation(case, "live", now + minutes(15))], now=now + minutes(15))
    assert callbacks == []


# --- The set-based path for live observations equals the rules ----------------------------------------------

COMPARED = [
    "status",
    "last_live_at",
    "first_gone_at",
    "last_gone_at",
    "first_gone_vantage",
    "consecutive_gone",
    "removal_confirmed_at",
    "removed_low",
    "removed_high",
    "ttr_low",
    "ttr_high",
    "reappearance_count",
    "next_check_at",
    "last_checked_at",
    "last_outcome",
    "first_notice_sent_at",
    "provider_at_notice_id",
]


@pytest.mark.parametrize(
    ("state", "age"),
    [
        ("assessed", minutes(0)),
        ("notified", minutes(30)),
        ("notified", timedelta(days=2)),
        ("notified", timedelta(days=9)),
        ("gone_run", minutes(30)),
        ("removed", timedelta(days=1)),
        ("checked_later", minutes(30)),
        ("moved", minutes(30)),
    ],
)
def test_live_observation_set_based_equals_the_rules(
    state, age, make_case, api_provider, notified_case, now, django_capture_on_commit_callbacks
):
    """Two identical URLs get the same live observation, one through the single UPDATE, one through the
    per-URL rules: every recorded field, the Check rows and the re-trace hand-offs must agree."""
    at = now + age
    results = []
    for n, set_based in enumerate((True, False)):
        if state == "assessed":
            case = make_case(f"http://files.polder.example/{n}.html", provider=api_provider, when=now)
        else:
            case = notified_case(f"{n}.html", at=now)
        if state == "gone_run":
            record_observations([observation(case, "gone", at - minutes(5))], now=at, set_based=set_based)
        if state == "removed":
            record(case, ("gone", minutes(20)), ("gone", minutes(30)), start=now)
        if state == "checked_later":
            record_observations([observation(case, "unknown", at + minutes(1))], now=at, set_based=set_based)
        ip = "203.0.113.9" if state == "moved" else "198.51.100.10"
        with django_capture_on_commit_callbacks() as callbacks:
            record_observations([observation(case, "live", at, resolved_ip=ip)], now=at, set_based=set_based)
        case.refresh_from_db()
        results.append(
            (
                [getattr(case, f) for f in COMPARED],
                Check.objects.filter(url=case).count(),
                len(callbacks),
                list(Event.objects.filter(url=case).order_by("pk").values_list("kind", flat=True)),
            )
        )
    assert results[0] == results[1]
    if state == "moved":
        assert results[0][2] == 1  # the re-trace of the URL that answered from a new address
