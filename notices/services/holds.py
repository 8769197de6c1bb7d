"""Law-enforcement holds and pauses: the stretches a case's clock stands still (`ClockStop`).

- A **hold** ("do not notify") is requested by staff for an investigation, with a reason, the requester and
  an optional timeout. While it lasts nothing is sent for the case: no notice naming it is created or sent
  (`held_problem`), its queued mails wait in the outbox (`notices.delivery.outbox.held_until`) and the
  escalation sweep passes it by. It ends when cleared or at its timeout; clearing makes the waiting mails due
  at once and the case due for its ladder.
- A **pause**: a provider's "need more information" or dispute ("not our customer") stops the case's SLA
  clock until the analyst answers (a reply in the notice's thread, or ending the pause in the admin).

Both are events on the case's timeline and are left out of the provider's SLA figures
(`notices.selectors.reports.sla_figures`), never out of the raw time to removal; the ladder resumes shifted
by the stopped time (`notices.selectors.ladder`).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef

from notices.enums import OutboxStatus, ResponseAction, StopKind, UrlStatus
from notices.errors import NoticeError
from notices.infra.events import actor_label, new_event, record_event, record_events
from notices.models import ClockStop, Notice, NoticeItem, OutgoingMessage, Url

PAUSES = {ResponseAction.NEED_INFO: StopKind.NEED_INFO, ResponseAction.NOT_OUR_CUSTOMER: StopKind.DISPUTE}


def request_hold(
    *,
    url: Url,
    reason: str,
    requester: str,
    now: datetime,
    user=None,
    expires_at: datetime | None = None,
) -> ClockStop:
    """Put a case under a law-enforcement hold (see the module docstring). Raises NoticeError for a missing
    reason or requester, a timeout not in the future, or a case already held."""
    errors = {}
    if not reason.strip():
        errors["reason"] = ["Say why the case is held."]
    if not requester.strip():
        errors["requester"] = ["Say who asked for the hold (agency, officer, case number)."]
    if expires_at is not None and expires_at <= now:
        errors["expires_at"] = ["The timeout must lie in the future."]
    if errors:
        raise NoticeError(errors)
    with transaction.atomic():
        url = Url.objects.select_for_update().get(pk=url.pk)  # a sweep taking a step waits, or is waited for
        if ClockStop.objects.holds(now).filter(url=url).exists():
            raise NoticeError({"url": [f"Case {url.pk} is already under a law-enforcement hold."]})
        hold = ClockStop.objects.create(
            kind=StopKind.HOLD,
            url=url,
            reason=reason.strip(),
            requester=requester.strip()[:200],
            requested_by=user if getattr(user, "is_authenticated", False) else None,
            started_at=now,
            expires_at=expires_at,
        )
        until = f" until {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else " until cleared"
        record_event(
            "url.hold_requested",
            at=now,
            url=url,
            actor=actor_label(user=user),
            data={
                "hold": hold.pk,
                "text": f"Law-enforcement hold{until}, requested by {hold.requester}: {hold.reason}. "
                "Nothing is sent for this case meanwhile.",
            },
        )
    return hold


def clear_hold(*, hold: ClockStop, now: datetime, user=None, note: str = "") -> ClockStop:
    """End a hold: its mails waiting in the outbox are due at once, the case is due for its ladder (shifted
    by the hold). Raises NoticeError for a hold that already ended."""
    with transaction.atomic():
        Url.objects.select_for_update().filter(pk=hold.url_id).first()
        hold = ClockStop.objects.select_for_update().get(pk=hold.pk)
        if hold.kind != StopKind.HOLD or (hold.end() is not None and hold.end() <= now):
            raise NoticeError({"detail": [f"{hold} is not in force."]})
        _end([hold], now=now, user=user, note=note)
        release_mails([hold.url_id], now=now)
        record_event(
            "url.hold_cleared",
            at=now,
            url=Url(pk=hold.url_id),
            actor=actor_label(user=user),
            data={
                "hold": hold.pk,
                "text": f"Law-enforcement hold cleared{f': {note}' if note else ''}. "
                "Waiting mails go out and the ladder resumes.",
            },
        )
    return hold


def _end(stops: list[ClockStop], *, now: datetime, user=None, note: str = "") -> None:
    for stop in stops:
        stop.ended_at = now
        stop.ended_by = user if getattr(user, "is_authenticated", False) else None
        stop.end_note = note[:2000]
    ClockStop.objects.bulk_update(stops, ["ended_at", "ended_by", "end_note"])
    Url.objects.filter(
        pk__in={s.url_id for s in stops}, status=UrlStatus.NOTIFIED, next_escalation_at__isnull=True
    ).update(next_escalation_at=now)


def release_mails(url_ids: list[int], *, now: datetime) -> int:
    """The pending mails naming these cases (held by a hold) are due now; returns how many."""
    notice_ids = NoticeItem.objects.filter(url_id__in=url_ids).values("notice_id")
    return OutgoingMessage.objects.filter(
        notice_id__in=notice_ids, status=OutboxStatus.PENDING, next_attempt_at__gt=now
    ).update(next_attempt_at=now)


def held_ids(url_ids, *, now: datetime) -> set[int]:
    """The cases among these under a hold in force."""
    return set(ClockStop.objects.holds(now).filter(url_id__in=list(url_ids)).values_list("url_id", flat=True))


def not_held(now: datetime):
    """A filter for Url querysets: no hold in force."""
    return ~Exists(ClockStop.objects.holds(now).filter(url=OuterRef("pk")))


def refuse_held(url_ids, *, now: datetime) -> None:
    """Raise NoticeError naming the held cases, if any (a notice naming them is neither created nor sent)."""
    held = sorted(held_ids(url_ids, now=now))
    if held:
        raise NoticeError(
            {"urls": [f"URL {pk} is under a law-enforcement hold: nothing is sent for it." for pk in held]}
        )


def pause_for_response(*, notice: Notice, action: str, url_ids: list[int], now: datetime) -> list[ClockStop]:
    """A "need more information" or dispute answer stops the SLA clock of the URLs it names until the
    analyst answers (one pause per URL; a URL already paused keeps its pause)."""
    kind = PAUSES.get(action)
    if kind is None or not url_ids:
        return []
    paused = set(
        ClockStop.objects.in_force(now)
        .filter(url_id__in=url_ids, kind__in=PAUSES.values())
        .values_list("url_id", flat=True)
    )
    stops = ClockStop.objects.bulk_create(
        ClockStop(
            kind=kind,
            url_id=pk,
            notice=notice,
            reason=f"{ResponseAction(action).label} (notice {notice.reference})",
            started_at=now,
        )
        for pk in url_ids
        if pk not in paused
    )
    words = StopKind(kind).label.split(": ", 1)[-1]
    record_events(
        [
            new_event(
                "url.paused",
                at=now,
                url=Url(pk=stop.url_id),
                notice=notice,
                data={
                    "text": f"Clock paused: {words}. It runs again when the analyst answers; "
                    "the pause is left out of the provider's SLA figures."
                },
            )
            for stop in stops
        ]
    )
    return stops


def end_pauses(*, notice: Notice, now: datetime, user=None, note: str = "") -> list[ClockStop]:
    """The analyst answered: the pauses the notice's answers started end now (the clock runs again)."""
    stops = list(ClockStop.objects.in_force(now).filter(notice=notice, kind__in=PAUSES.values()))
    if not stops:
        return []
    _end(stops, now=now, user=user, note=note)
    record_events(
        [
            new_event(
                "url.resumed",
                at=now,
                url=Url(pk=stop.url_id),
                notice=notice,
                actor=actor_label(user=user),
                data={
                    "text": f"Clock runs again: the analyst answered (paused since "
                    f"{stop.started_at:%Y-%m-%d %H:%M} UTC). The ladder resumes, shifted by the pause."
                },
            )
            for stop in stops
        ]
    )
    return stops
