"""Closing and reopening cases, withdrawing notices (notices/services/lifecycle.py): the moves the transition
tables allow and refuse, the events written, and what stops — checks, escalation, new notices, outbox mail."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notices.checks.scheduling import claim_due
from notices.enums import NOTICE_TRANSITIONS, URL_TRANSITIONS, NoticeStatus, UrlStatus
from notices.errors import NoticeError
from notices.models import DueCheck, Escalation, Event, Notice, NoticeItem, OutgoingMessage, Url
from notices.services import escalation
from notices.services.checking import record_observations
from notices.services.dispatch import pending_urls
from notices.services.lifecycle import close_case, reopen_case, withdraw
from notices.services.notices import close_item_removed, create_notices, mark_notice_sent, queue_notice
from tests.notices.stats.conftest import observation

pytestmark = pytest.mark.django_db


@pytest.fixture
def noticed(make_case, provider, now):
    """Two cases of `provider` (e-mail) in one notice, queued and marked sent: (notice, first, second)."""
    first = make_case("http://files.polder.example/a.html", provider=provider, when=now)
    second = make_case("http://files.polder.example/b.html", provider=provider, when=now)
    (notice,) = create_notices(urls=[first, second], notice_type="hotline_notice", now=now)
    notice = queue_notice(notice=notice, now=now)
    mark_notice_sent(notice=notice, at=now)
    notice.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    return notice, first, second


def refreshed(*objects):
    for obj in objects:
        obj.refresh_from_db()
    return objects


# --- The tables ---------------------------------------------------------------------------------------------


def test_only_open_cases_close_and_a_closed_case_only_reopens():
    closable = {status for status, targets in URL_TRANSITIONS.items() if UrlStatus.CLOSED in targets}
    assert closable == {UrlStatus.NEW, UrlStatus.ASSESSED, UrlStatus.NOTIFIED}
    assert URL_TRANSITIONS[UrlStatus.CLOSED] == {
        UrlStatus.NEW,
        UrlStatus.ASSESSED,
        UrlStatus.NOT_ILLEGAL,
        UrlStatus.NOTIFIED,
    }


def test_every_notice_not_yet_closed_may_be_withdrawn_and_withdrawal_is_final():
    withdrawable = {
        status for status, targets in NOTICE_TRANSITIONS.items() if NoticeStatus.WITHDRAWN in targets
    }
    assert withdrawable == set(NoticeStatus) - {NoticeStatus.CLOSED, NoticeStatus.WITHDRAWN}
    assert NOTICE_TRANSITIONS[NoticeStatus.WITHDRAWN] == frozenset()


# --- Closing a case -----------------------------------------------------------------------------------------


def test_close_a_new_case_writes_its_event(make_case, provider, now, analyst):
    from notices.services.intake import ReportInput, submit_report

    url = Url.objects.get(
        pk=submit_report(item=ReportInput(url="http://new.polder.example/"), now=now).url_id
    )

    close_case(url=url, reason="duplicate", note="same as case 7", now=now, user=analyst)

    (url,) = refreshed(url)
    assert (url.status, url.closed_at, url.next_check_at) == ("closed", now, None)
    event = Event.objects.get(url=url, kind="url.closed")
    assert (event.actor, event.at) == ("user:analyst", now)
    assert event.data == {"reason": "duplicate", "note": "same as case 7", "from": "new", "items": []}


def test_close_an_assessed_case_takes_it_out_of_the_check_queue(make_case, provider, now):
    url = make_case(provider=provider, when=now)
    assert DueCheck.objects.filter(url=url).exists()  # due for its pre-notice check

    close_case(url=url, reason="out_of_remit", now=now)

    (url,) = refreshed(url)
    assert (url.status, url.next_check_at, url.next_escalation_at) == ("closed", None, None)
    assert not DueCheck.objects.filter(url=url).exists()
    assert claim_due(now=now + timedelta(days=30), limit=10) == []


def test_close_a_noticed_case_stops_checks_and_escalation(noticed, now):
    notice, first, _ = noticed
    assert first.next_escalation_at is not None  # the sweep plans its ladder

    close_case(url=first, reason="reported_in_error", now=now)

    (first,) = refreshed(first)
    assert (first.status, first.next_check_at, first.next_escalation_at) == ("closed", None, None)
    assert {c.url_id for c in claim_due(now=now + timedelta(days=1), limit=10)} == {noticed[2].pk}
    assert escalation.sweep(now=notice.deadline_at + timedelta(days=30)) >= 1  # the ladder's runs …
    assert set(Escalation.objects.values_list("url_id", flat=True)) == {noticed[2].pk}


def test_a_check_under_way_when_the_case_closes_is_kept_but_plans_nothing(make_case, provider, now):
    url = make_case(provider=provider, when=now)
    (claimed,) = claim_due(now=now, limit=10)
    close_case(url=url, reason="duplicate", now=now)

    record_observations([observation(url, "live", now + timedelta(seconds=1))], now=now)

    (url,) = refreshed(url)
    assert (claimed.url_id, url.status, url.next_check_at) == (url.pk, "closed", None)
    assert url.checks.count() == 1
    assert not DueCheck.objects.filter(url=url).exists()


def test_a_closed_case_is_never_checked_on_a_providers_word(noticed, now):
    from notices.services.responses import record_response

    notice, first, second = noticed
    close_case(url=first, reason="duplicate", now=now)

    record_response(notice=notice, action="removed", now=now)  # every URL of the notice, the closed one too

    first, second = refreshed(first, second)
    assert (first.next_check_at, second.next_check_at) == (None, now)


def test_a_closed_case_goes_in_no_new_notice(make_case, provider, now, settings):
    settings.HOTLINE_COUNTRY = "DE"
    url = make_case(provider=provider, when=now)
    close_case(url=url, reason="out_of_remit", now=now)

    with pytest.raises(NoticeError) as refused:
        create_notices(urls=[url], notice_type="hotline_notice", now=now)
    assert refused.value.errors == {"urls": [f"URL {url.pk} has status closed."]}
    assert pending_urls([provider], limit=10) == {}


@pytest.mark.parametrize("status", ["not_illegal", "removed", "gone_before_notice", "closed"])
def test_a_finished_case_cannot_be_closed(make_case, provider, now, status):
    url = make_case(provider=provider, when=now)
    Url.objects.filter(pk=url.pk).update(status=status)

    with pytest.raises(NoticeError) as refused:
        close_case(url=url, reason="duplicate", now=now)

    assert refused.value.errors == {
        "detail": [f"URL {url.pk} is {status}; only a new, assessed or noticed case is closed."]
    }
    (url,) = refreshed(url)
    assert url.status == status
    assert not Event.objects.filter(kind="url.closed").exists()


@pytest.mark.parametrize(
    ("reason", "note", "errors"),
    [
        ("", "", {"reason": ["Choose one of: duplicate, reported_in_error, out_of_remit, other."]}),
        ("deleted", "", {"reason": ["Choose one of: duplicate, reported_in_error, out_of_remit, other."]}),
        ("other", "  ", {"note": ["Say why (required with the reason “other”)."]}),
        ("duplicate", "x" * 2001, {"note": ["At most 2000 characters."]}),
    ],
)
def test_close_needs_a_known_reason_and_a_note_with_other(make_case, provider, now, reason, note, errors):
    url = make_case(provider=provider, when=now)

    with pytest.raises(NoticeError) as refused:
        close_case(url=url, reason=reason, note=note, now=now)

    assert refused.value.errors == errors
    (url,) = refreshed(url)
    assert url.status == "assessed"


def test_closing_one_case_of_two_keeps_the_notice_for_the_other(noticed, now):
    notice, first, second = noticed

    close_case(url=first, reason="duplicate", now=now)

    (notice,) = refreshed(notice)
    assert notice.status == "sent"
    items = {item.url_id: (item.status, item.is_open) for item in notice.items.all()}
    assert items == {first.pk: ("open", False), second.pk: ("open", True)}
    closed = Event.objects.get(kind="url.closed")
    assert closed.data["items"] == [notice.items.get(url=first).pk]


def test_closing_the_last_case_withdraws_the_notice_and_cancels_its_mail(make_case, provider, now):
    url = make_case(provider=provider, when=now)
    (notice,) = create_notices(urls=[url], notice_type="hotline_notice", now=now)
    notice = queue_notice(notice=notice, now=now)  # its mail waits in the outbox

    close_case(url=url, reason="reported_in_error", now=now)

    (notice,) = refreshed(notice)
    assert (notice.status, notice.withdrawn_at) == ("withdrawn", now)
    assert list(OutgoingMessage.objects.values_list("status", "last_error")) == [
        ("cancelled", "cancelled: the notice was withdrawn")
    ]
    event = Event.objects.get(notice=notice, kind="notice.withdrawn")
    assert event.data == {"reason": "cases_closed", "note": "", "messages_cancelled": 1}


def test_closing_the_last_open_case_of_a_partly_removed_notice_closes_it(noticed, now):
    notice, first, second = noticed
    close_item_removed(url=first, at=now)

    close_case(url=second, reason="out_of_remit", now=now)

    (notice,) = refreshed(notice)
    assert (notice.status, notice.closed_at, notice.withdrawn_at) == ("closed", now, None)
    assert Event.objects.filter(notice=notice, kind="notice.closed").count() == 1


# --- Reopening ----------------------------------------------------------------------------------------------


def test_reopen_a_new_case_back_to_new_without_checks(now):
    from notices.services.intake import ReportInput, submit_report

    url = Url.objects.get(
        pk=submit_report(item=ReportInput(url="http://new.polder.example/"), now=now).url_id
    )
    close_case(url=url, reason="duplicate", now=now)

    reopen_case(url=url, now=now + timedelta(hours=1))

    (url,) = refreshed(url)
    assert (url.status, url.closed_at, url.next_check_at) == ("new", None, None)
    assert Event.objects.get(url=url, kind="url.reopened").data == {"to": "new"}


def test_reopen_an_assessed_case_checks_it_at_once(make_case, provider, now):
    url = make_case(provider=provider, when=now)
    close_case(url=url, reason="duplicate", now=now)
    later = now + timedelta(hours=1)

    reopen_case(url=url, now=later)

    (url,) = refreshed(url)
    assert (url.status, url.next_check_at) == ("assessed", later)
    assert DueCheck.objects.get(url=url).due_at == later


def test_reopen_a_noticed_case_restores_its_item_and_escalation(noticed, now):
    notice, first, _ = noticed
    close_case(url=first, reason="duplicate", now=now)
    later = now + timedelta(hours=1)

    reopen_case(url=first, now=later)

    (first,) = refreshed(first)
    # Checked at once; the sweep plans its ladder again at once, from the steps its notice has taken.
    assert (first.status, first.next_check_at, first.next_escalation_at) == ("notified", later, later)
    assert notice.items.get(url=first).is_open
    assert escalation.sweep(now=notice.deadline_at) == 1  # the notice's first repeat …
    assert set(Escalation.objects.values_list("url_id", flat=True)) == {
        first.pk,
        noticed[2].pk,
    }  # … names both


def test_reopen_after_its_notice_was_withdrawn_leaves_the_withdrawal(make_case, api_only, now):
    url = make_case(provider=api_only, when=now)
    (notice,) = create_notices(urls=[url], notice_type="hotline_notice", now=now)
    queue_notice(notice=notice, now=now)  # API pickup: sent at once
    close_case(url=url, reason="duplicate", now=now)

    reopen_case(url=url, now=now)

    (url, notice) = refreshed(url, notice)
    assert (url.status, url.next_escalation_at, notice.status) == ("notified", None, "withdrawn")
    assert not NoticeItem.objects.filter(url=url, is_open=True).exists()
    (again,) = create_notices(urls=[url], notice_type="hotline_notice", now=now)  # it may be noticed anew
    assert again.items.get().url_id == url.pk


def test_reopen_takes_up_the_escalation_ladder_where_it_was(noticed, now):
    notice, first, second = noticed
    assert escalation.sweep(now=notice.deadline_at) == 1  # the first repeat, for both cases
    close_case(url=first, reason="duplicate", now=notice.deadline_at)

    reopen_case(url=first, now=notice.deadline_at)

    # The ladder goes on from the steps the notice took: the first repeat is not taken again.
    assert escalation.sweep(now=notice.deadline_at) == 0
    rows = sorted(Escalation.objects.values_list("url_id", "run__occurrence"))
    assert rows == sorted([(first.pk, 1), (second.pk, 1)])


@pytest.mark.parametrize("status", ["new", "assessed", "notified", "removed"])
def test_only_a_closed_case_reopens(make_case, provider, now, status):
    url = make_case(provider=provider, when=now)
    Url.objects.filter(pk=url.pk).update(status=status)

    with pytest.raises(NoticeError) as refused:
        reopen_case(url=url, now=now)

    assert refused.value.errors == {"detail": [f"URL {url.pk} is {status}, not closed: nothing to reopen."]}
    assert not Event.objects.filter(kind="url.reopened").exists()


# --- Withdrawing a notice -----------------------------------------------------------------------------------


def _notice_in(status: str, make_case, provider, now, name: str = "a") -> Notice:
    url = make_case(f"http://files.polder.example/{name}.html", provider=provider, when=now)
    (notice,) = create_notices(urls=[url], notice_type="hotline_notice", now=now)
    Notice.objects.filter(pk=notice.pk).update(status=status)
    return notice


@pytest.mark.parametrize("status", ["draft", "queued", "sent", "acknowledged", "disputed", "failed"])
def test_withdraw_from_each_open_status(make_case, provider, now, analyst, status):
    notice = _notice_in(status, make_case, provider, now)

    withdraw(notices=[notice], reason="wrong_provider", note="trace corrected", now=now, user=analyst)

    (notice,) = refreshed(notice)
    assert (notice.status, notice.withdrawn_at) == ("withdrawn", now)
    assert not notice.items.filter(is_open=True).exists()
    event = Event.objects.get(notice=notice, kind="notice.withdrawn")
    assert (event.actor, event.data) == (
        "user:analyst",
        {"reason": "wrong_provider", "note": "trace corrected", "messages_cancelled": 0},
    )


@pytest.mark.parametrize("status", ["closed", "withdrawn"])
def test_a_closed_or_withdrawn_notice_cannot_be_withdrawn(make_case, provider, now, status):
    notice = _notice_in(status, make_case, provider, now)

    with pytest.raises(NoticeError) as refused:
        withdraw(notices=[notice], reason="sent_in_error", now=now)

    assert refused.value.errors == {
        "detail": [f"Notice {notice.reference} is {status} and cannot be withdrawn."]
    }
    assert not Event.objects.filter(kind="notice.withdrawn").exists()


@pytest.mark.parametrize(
    ("reason", "note", "field"),
    [("cases_closed", "", "reason"), ("typo", "", "reason"), ("other", "", "note")],
)
def test_withdraw_needs_an_analysts_reason(make_case, provider, now, reason, note, field):
    notice = _notice_in("sent", make_case, provider, now)

    with pytest.raises(NoticeError) as refused:
        withdraw(notices=[notice], reason=reason, note=note, now=now)

    assert list(refused.value.errors) == [field]
    (notice,) = refreshed(notice)
    assert notice.status == "sent"


def test_withdraw_stops_the_escalation_of_cases_in_no_other_open_notice(noticed, now):
    notice, first, second = noticed

    withdraw(notices=[notice], reason="sent_in_error", now=now)

    first, second = refreshed(first, second)
    assert (first.status, first.next_escalation_at, second.next_escalation_at) == ("notified", None, None)
    assert first.next_check_at is not None  # still a case: the content is watched
    assert escalation.sweep(now=notice.deadline_at + timedelta(days=30)) == 0
    assert OutgoingMessage.objects.filter(notice=notice).count() == 1  # no reminder


def test_withdraw_all_or_none(make_case, provider, now):
    open_notice = _notice_in("sent", make_case, provider, now)
    closed_notice = _notice_in("closed", make_case, provider, now, name="b")

    with pytest.raises(NoticeError):
        withdraw(notices=[open_notice, closed_notice], reason="sent_in_error", now=now)

    (open_notice,) = refreshed(open_notice)
    assert open_notice.status == "sent"


def test_a_withdrawn_notice_is_not_sent_to_the_provider_again_by_the_sent_mark(make_case, provider, now):
    url = make_case(provider=provider, when=now)
    (notice,) = create_notices(urls=[url], notice_type="hotline_notice", now=now)
    notice = queue_notice(notice=notice, now=now)
    withdraw(notices=[notice], reason="sent_in_error", now=now)

    # The mail of a withdrawal that waited for its send: SMTP accepted it, then the notice was withdrawn.
    mark_notice_sent(notice=notice, at=now + timedelta(seconds=1))

    notice, url = refreshed(notice, url)
    assert (notice.status, notice.sent_at) == ("withdrawn", now + timedelta(seconds=1))
    assert (url.status, url.first_notice_sent_at, url.next_escalation_at) == ("assessed", None, None)
    assert not Event.objects.filter(kind="url.notified").exists()
