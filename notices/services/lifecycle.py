"""Closing and reopening cases, withdrawing notices: nothing a case or notice is made of is deleted through
the UI; each ends (or comes back) by a state change with its event. The admin and the staff API call these.

A case's status has one owner (`notices.services.urls`), a notice's another (`notices.services.notices`);
this module composes them in one transaction, locking notices before the URL (the order a delivery locks
them in).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from notices.enums import WITHDRAW_CHOICES, CloseReason, UrlStatus
from notices.errors import NoticeError
from notices.infra.events import actor_label
from notices.models import Event, Notice, Url
from notices.services import notices as notice_owner
from notices.services import urls as url_owner

NOTE_MAX_LENGTH = 2000


def reason_problems(reason: str, note: str, choices) -> dict[str, list[str]]:
    """Field errors of a reason and its note: the reason one of `choices` (value, label pairs), the note
    required with "other" and at most NOTE_MAX_LENGTH characters."""
    problems: dict[str, list[str]] = {}
    if reason not in {value for value, _ in choices}:
        problems["reason"] = [f"Choose one of: {', '.join(value for value, _ in choices)}."]
    if reason == "other" and not note.strip():
        problems["note"] = ["Say why (required with the reason “other”)."]
    if len(note) > NOTE_MAX_LENGTH:
        problems["note"] = [f"At most {NOTE_MAX_LENGTH} characters."]
    if "\x00" in note:
        problems["note"] = ["The note must not contain NUL characters."]
    return problems


def close_case(*, url: Url, reason: str, note: str = "", now: datetime, user=None, api_key=None) -> Url:
    """Close an open case (new, assessed or noticed) for `reason` (CloseReason; `other` needs a note).

    Side effects (`urls.close`): status `closed`, `closed_at`, no further checks, no escalation, out of the
    time-to-removal statistics, a `url.closed` event (actor, reason, note, the status it had and the notice
    items it released). Its open notice items close (`notices.release_items`): a notice left with no open
    item is withdrawn when all its cases are closed (its unsent mails cancelled, `notice.withdrawn`), else
    closed. Raises NoticeError: field errors for the reason or note, `detail` (a conflict) when the case's
    status may not close.
    """
    problems = reason_problems(reason, note, CloseReason.choices)
    if problems:
        raise NoticeError(problems)
    actor = actor_label(user=user, api_key=api_key)
    with transaction.atomic():
        notice_owner.lock_notices(items__url_id=url.pk, items__is_open=True)
        url = Url.objects.select_for_update(of=("self",)).get(pk=url.pk)
        items = notice_owner.open_items_of(url.pk)
        try:
            url_owner.close(url, reason=reason, note=note, actor=actor, now=now, items=items)
        except url_owner.TransitionError:
            raise NoticeError(
                {"detail": [f"URL {url.pk} is {url.status}; only a new, assessed or noticed case is closed."]}
            ) from None
        notice_owner.release_items(items, actor=actor, now=now)
    return url


def reopen_case(*, url: Url, now: datetime, user=None, api_key=None) -> Url:
    """Reopen a closed case (after a mistaken close) to the status it had (`urls.reopened_status`).

    Side effects (`urls.reopen`): `closed_at` cleared, an assessed or noticed case checked at once and back in
    the statistics, a `url.reopened` event. The notice items its closing released are open again where their
    notice is still open (`notices.restore_items`), and a noticed case takes up its escalation ladder from
    that notice's deadline; a notice withdrawn or closed meanwhile stays so (the case can go in a new one).
    Raises NoticeError (`detail`, a conflict) unless the case is closed.
    """
    actor = actor_label(user=user, api_key=api_key)
    with transaction.atomic():
        closed = Event.objects.filter(url_id=url.pk, kind="url.closed").order_by("-at", "-pk").first()
        items = closed.data.get("items", []) if closed else []
        notice_owner.lock_notices(items__pk__in=items)
        url = Url.objects.select_for_update(of=("self",)).select_related("current_assessment").get(pk=url.pk)
        if url.status != UrlStatus.CLOSED:
            raise NoticeError({"detail": [f"URL {url.pk} is {url.status}, not closed: nothing to reopen."]})
        notice = notice_owner.restore_items(items)
        # The sweep plans its ladder again from the steps its notice has taken (notices.services.escalation).
        escalation_at = now if notice and notice.sent_at else None
        url_owner.reopen(url, actor=actor, now=now, escalation_at=escalation_at)
    return url


def withdraw(*, notices: list[Notice], reason: str, note: str = "", now: datetime, user=None, api_key=None):
    """Withdraw notices for `reason` (WithdrawReason, without the system's `cases_closed`; `other` needs a
    note): see `notices.withdraw_notices` for every side effect. Raises NoticeError: field errors for the
    reason or note, `detail` (a conflict) for a notice already closed or withdrawn."""
    problems = reason_problems(reason, note, WITHDRAW_CHOICES)
    if problems:
        raise NoticeError(problems)
    actor = actor_label(user=user, api_key=api_key)
    return notice_owner.withdraw_notices(notices=notices, reason=reason, note=note, actor=actor, now=now)
