"""The statistics snapshot never contradicts the case data: a change it does not include (first notice,
removal, reappearance, a case leaving the statistics) marks it stale in the same transaction — once per
transaction, however many rows — and a stale snapshot is not served. Every answer says how old it is."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from notices.infra import enqueue
from notices.models import Partner, StatsChange, StatsRefresh, StatsSnapshot, Url
from notices.selectors import stats, stats_columns
from notices.selectors.stats import refresh_snapshots, request_refresh, run_refresh, stale_since
from notices.services.intake import ReportInput, submit_report
from tests.notices.stats.conftest import confirm_removals, see_live

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(
        django_user_model.objects.create_superuser("chief", "chief@hotline.example", "pw-12345")
    )
    return client


def settle() -> None:
    """The snapshots as a refresh leaves them: current, nothing stale."""
    refresh_snapshots(now=timezone.now())
    assert stale_since() is None


def provider_row(page: str, provider) -> tuple[int, int, int]:
    """(noticed, removed, still up) from the dashboard's time-to-removal table."""
    match = re.search(
        rf"<td><a [^>]*>{re.escape(provider.name)}</a></td>"
        rf"<td>\w*</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>",
        page,
    )
    assert match, page
    return tuple(int(n) for n in match.groups())


def test_dashboard_table_agrees_with_the_removal_count_right_after_a_removal(staff_client, noticed, api_only):
    (case,) = noticed(1)
    settle()
    page = staff_client.get(reverse("dashboard")).content.decode()
    assert provider_row(page, api_only) == (1, 0, 1)

    assert confirm_removals([case]) == 1

    page = staff_client.get(reverse("dashboard")).content.decode()
    assert re.search(r'<div class="n">1</div><div class="l">removals confirmed', page)
    assert provider_row(page, api_only) == (1, 1, 0)  # not "still up" beside "1 removal confirmed"
    assert re.search(r'id="ttr-as-of">As of [\d-]+ [\d:]+ \w+, 0 s old — computed live', page)
    api = stats.time_to_removal(group_by="provider", now=timezone.now())
    assert api["source"] == "live"
    assert [(g["key"], g["removed"], g["still_up"]) for g in api["groups"]] == [("polder", 1, 0)]


def test_the_snapshot_is_served_again_once_refreshed_and_says_how_old_it_is(staff_client, noticed, api_only):
    (case,) = noticed(1)
    confirm_removals([case])
    computed = timezone.now() - timedelta(seconds=42)
    refresh_snapshots(now=computed)
    answer = stats.time_to_removal(group_by="provider", now=computed + timedelta(seconds=42))
    assert (answer["source"], answer["as_of"], answer["computed_at"], answer["age_seconds"]) == (
        "snapshot",
        computed,
        computed,
        42,
    )
    assert answer["groups"][0]["removed"] == 1
    page = staff_client.get(reverse("dashboard")).content.decode()
    assert re.search(
        r'id="ttr-as-of">As of [\d-]+ [\d:]+ \w+, 4\d s old — from the statistics snapshot', page
    )
    assert provider_row(page, api_only) == (1, 1, 0)


def test_the_api_says_as_of_and_age_for_snapshot_and_live_answers(staff_api, noticed):
    noticed(1)
    settle()
    body = staff_api.get("/api/v1/stats/time-to-removal/?group_by=provider").json()
    assert body["source"] == "snapshot"
    assert body["as_of"] == body["computed_at"]
    assert isinstance(body["age_seconds"], int) and 0 <= body["age_seconds"] < 60
    live = staff_api.get("/api/v1/stats/time-to-removal/?group_by=provider&fresh=true").json()
    assert (live["source"], live["age_seconds"]) == ("live", 0)


# --- What marks the snapshots stale: every change the statistics count, and nothing else ------------------


def _first_notice(noticed):
    noticed(1)


def _removal(noticed):
    cases = noticed(1)
    settle()
    confirm_removals(cases)


def _reappearance(noticed):
    cases = noticed(1)
    confirm_removals(cases)
    settle()
    see_live(cases)
    assert Url.objects.get(pk=cases[0].pk).reappearance_count == 1


def _hand_off(noticed):
    from notices.services.routing import hand_off

    cases = noticed(1)
    partner = Partner.objects.create(
        name="Partner hotline",
        country="DE",
        receives_handoffs=True,
        handoff_email="handoff@hotline-de.example",
    )
    Url.objects.filter(pk=cases[0].pk).update(status="assessed", first_notice_sent_at=None)
    settle()
    hand_off(url=Url.objects.get(pk=cases[0].pk), partner=partner, now=timezone.now())


def _left_the_statistics(noticed):
    """A case leaving the TTR statistics: found gone before its notice. (Cases are never deleted: their
    timeline is append-only, and the database refuses.)"""
    cases = noticed(1)
    settle()
    Url.objects.filter(pk=cases[0].pk).update(status="gone_before_notice")


@pytest.mark.parametrize("change", [_first_notice, _removal, _reappearance, _hand_off, _left_the_statistics])
def test_every_kind_of_change_marks_the_snapshots_stale_in_its_transaction(noticed, change):
    change(noticed)
    assert stale_since() is not None
    assert StatsChange.objects.count() == 1
    assert stats.time_to_removal(group_by="provider", now=timezone.now())["source"] == "live"


COUNTED = {
    "first_notice_sent_at": lambda url: url.first_notice_sent_at - timedelta(seconds=1),
    "removal_confirmed_at": lambda url: timezone.now(),
    "ttr_low": lambda url: 10,
    "ttr_high": lambda url: 20,
    "status": lambda url: "gone_before_notice",
    "provider_at_notice": lambda url: None,
    "asn_at_notice": lambda url: 64999,
    "country_at_notice": lambda url: "BE",
    "notice_type_at_notice": lambda url: "removal_order",
    "le_referred_at": lambda url: url.first_reported_at,
    "first_reported_at": lambda url: url.first_reported_at - timedelta(days=1),
}


@pytest.mark.parametrize("field", sorted(COUNTED))
def test_any_writer_changing_a_counted_column_marks_the_snapshots_stale(noticed, field):
    (case,) = noticed(1)
    settle()
    Url.objects.filter(pk=case.pk).update(**{field: COUNTED[field](case)})
    assert StatsChange.objects.count() == 1


def test_every_url_column_the_statistics_read_is_watched_by_the_trigger():
    """A column added to the statistics query without the trigger knowing would bring the contradiction
    back."""
    read = stats._cases_sql(" , ".join(stats.GROUPS.values()), stats._filters("x", "x", "x")[0])
    read += stats_columns._copy_sql()  # the columns a process keeps, and patches from the trigger's names
    columns = {f.column for f in Url._meta.concrete_fields if re.search(rf"\b{f.column}\b", read)}
    columns -= {"id"}
    assert {"first_notice_sent_at", "ttr_low", "status", "provider_at_notice_id", "le_referred_at"} <= columns
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.prosrc FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid"
            " WHERE t.tgname = 'url_stats_update'"
        )
        (body,) = cursor.fetchone()
    # The statement trigger compares each old row (o) with its new one (n).
    watched = {f.column for f in Url._meta.concrete_fields if re.search(rf"\bo\.{f.column}\b", body)}
    assert columns <= watched
    assert columns <= {Url._meta.get_field(f).column for f in COUNTED}


def test_changes_the_statistics_do_not_count_leave_the_snapshots_current(noticed, analyst):
    from notices.services.assessment import assess_url

    (case,) = noticed(1)
    settle()
    see_live([case])  # the checker's commonest write: content still up
    Url.objects.filter(pk=case.pk).update(next_check_at=timezone.now(), last_live_at=timezone.now())
    new = submit_report(
        item=ReportInput(url="http://files.polder.example/stats/new.html"), now=timezone.now()
    )
    assess_url(
        url=Url.objects.get(pk=new.url_id),
        analyst=analyst,
        legality="illegal_international",
        classification="A1",
        now=timezone.now(),
    )
    assert stale_since() is None
    assert stats.time_to_removal(group_by="provider", now=timezone.now())["source"] == "snapshot"


@pytest.mark.parametrize("set_based", [True, False])
def test_a_batch_of_fifty_removals_marks_once_and_asks_for_one_refresh(
    noticed, set_based, django_capture_on_commit_callbacks
):
    cases = noticed(50)
    settle()
    with django_capture_on_commit_callbacks() as callbacks:
        assert confirm_removals(cases, set_based=set_based) == 50
    assert StatsChange.objects.count() == 1
    assert [c for c in callbacks if c is request_refresh] == [request_refresh]


# --- Refreshes: collapsed, claimed, and a failure leaves the snapshots stale ------------------------------


def test_requests_collapse_into_the_queued_refresh(noticed):
    assert request_refresh() is False  # nothing stale: nothing to do
    noticed(1)
    assert request_refresh() is True
    assert request_refresh() is False
    assert StatsRefresh.objects.get().requested_at is not None
    assert run_refresh(now=timezone.now()) is not None
    state = StatsRefresh.objects.get()
    assert (state.requested_at, state.started_at, state.refreshes) == (None, None, 1)
    assert stale_since() is None


def test_the_refresh_is_queued_by_the_name_of_the_real_task():
    from notices.tasks import refresh_stats

    assert refresh_stats.name == enqueue.REFRESH_STATS


def test_a_debounced_run_recomputes_only_for_the_pending_request(noticed):
    noticed(1)
    assert request_refresh() is True
    pending = StatsRefresh.objects.get().requested_at
    assert run_refresh(now=timezone.now(), requested_at=pending - timedelta(seconds=1)) is None  # a leftover
    assert (StatsRefresh.objects.get().refreshes, StatsRefresh.objects.get().requested_at) == (0, pending)
    assert run_refresh(now=timezone.now(), requested_at=pending) is not None
    assert run_refresh(now=timezone.now(), requested_at=pending) is None  # the same task delivered twice
    assert StatsRefresh.objects.get().refreshes == 1
    assert run_refresh(now=timezone.now()) is not None  # beat's periodic run names no request
    assert StatsRefresh.objects.get().refreshes == 2


def test_a_refresh_the_broker_refuses_stays_requested_and_is_not_retried_per_change(noticed, monkeypatch):
    from kombu.exceptions import OperationalError

    from tracker.celery import app

    attempts = []

    def broker_down(name, *args, **kwargs):
        attempts.append(kwargs)
        raise OperationalError("connection refused")

    monkeypatch.setattr(app, "send_task", broker_down)
    noticed(1)
    assert request_refresh() is False
    assert StatsRefresh.objects.get().requested_at is not None  # beat's refresh or the lease covers it
    assert request_refresh() is False
    assert request_refresh() is False
    assert len(attempts) == 1 and attempts[0]["retry"] is False  # one publish per lease, never retried inline


def test_a_running_refresh_is_not_run_twice_and_a_dead_claim_expires(noticed, settings):
    noticed(1)
    now = timezone.now()
    StatsRefresh.objects.create(pk=1, started_at=now - timedelta(seconds=5))
    assert run_refresh(now=now) is None
    assert StatsRefresh.objects.get().refreshes == 0
    assert stale_since() is not None
    settings.STATS_REFRESH_LEASE = 3
    assert run_refresh(now=now) is not None
    assert (StatsRefresh.objects.get().refreshes, stale_since()) == (1, None)


def test_a_change_during_a_refresh_stays_stale(noticed, monkeypatch):
    noticed(1)
    original = stats_columns.figures

    def computing_while_a_removal_commits(*args, **kwargs):
        StatsChange.objects.create(changed_at=timezone.now())  # committed after the refresh began
        return original(*args, **kwargs)

    monkeypatch.setattr(stats_columns, "figures", computing_while_a_removal_commits)
    run_refresh(now=timezone.now())
    assert stale_since() is not None


def test_a_failed_refresh_leaves_the_snapshots_stale_and_a_later_one_repairs_them(noticed, monkeypatch):
    (case,) = noticed(1)
    settle()
    confirm_removals([case])
    original = stats_columns.figures

    def failing(*args, group_by, **kwargs):
        if group_by == "month":  # after the provider snapshot was computed: nothing may be half-written
            raise MemoryError("out of memory computing by month")
        return original(*args, group_by=group_by, **kwargs)

    monkeypatch.setattr(stats_columns, "figures", failing)
    with pytest.raises(MemoryError):
        run_refresh(now=timezone.now())
    monkeypatch.setattr(stats_columns, "figures", original)
    state = StatsRefresh.objects.get()
    assert state.failed_at is not None and "out of memory" in state.error and state.started_at is None
    assert stale_since() is not None
    assert StatsSnapshot.objects.get(group_by="provider").groups[0]["removed"] == 0  # not half-written
    answer = stats.time_to_removal(group_by="provider", now=timezone.now())
    assert (answer["source"], answer["groups"][0]["removed"]) == ("live", 1)  # the stale one is not served

    run_refresh(now=timezone.now())
    assert (StatsRefresh.objects.get().error, stale_since()) == ("", None)
    answer = stats.time_to_removal(group_by="provider", now=timezone.now())
    assert (answer["source"], answer["groups"][0]["removed"]) == ("snapshot", 1)


def _source(page: str, anchor: str) -> str:
    match = re.search(
        rf'id="{anchor}">As of [\d-]+ [\d:]+ \w+, \d+ s old — (from the statistics snapshot|computed live)',
        page,
    )
    assert match, anchor
    return match[1]


def test_the_dashboards_figures_of_all_cases_and_per_provider_come_from_one_source(staff_client, noticed):
    """The overview (all cases) is served from the snapshot like the per-provider table, and both turn live
    together: never a live median of all cases beside a snapshot's medians per provider."""
    (case,) = noticed(1)
    settle()
    page = staff_client.get(reverse("dashboard")).content.decode()
    anchors = ["overview-as-of", "ttr-as-of", "member-states-as-of"]
    assert {_source(page, anchor) for anchor in anchors} == {"from the statistics snapshot"}
    assert stats.time_to_removal(group_by="all", now=timezone.now())["source"] == "snapshot"

    confirm_removals([case])  # a change the snapshot does not include: every table is live
    page = staff_client.get(reverse("dashboard")).content.decode()
    assert {_source(page, anchor) for anchor in anchors} == {"computed live"}

    settle()
    StatsSnapshot.objects.filter(group_by="all").delete()  # one table the snapshot cannot serve: all live
    page = staff_client.get(reverse("dashboard")).content.decode()
    assert {_source(page, anchor) for anchor in anchors} == {"computed live"}
