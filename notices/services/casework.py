"""Who works a case: assignment, the soft lock, the case's revision, and four-eyes verification.

Assignment names the analyst working a case (`Url.assigned_to`); "my cases" is the list of one's own. The
soft lock is a warning, not a lock: opening or changing a case stamps `worked_by`/`worked_at`, and another
analyst opening it within `settings.CASE_LOCK_SECONDS` is told who has it; the list's bulk actions that change
cases leave it out for anyone else and say who has it (`held_by_others`). The revision is the guard against
saving over someone else's change: every change an analyst makes to a case (assignment, an assessment, a
verification, the case form) bumps `Url.revision` under the row's lock, and a change made from a page that
showed an older revision is refused (`StaleCase`) naming who changed it and when.

Four-eyes verification (`settings.FOUR_EYES_VERIFICATION`): a second analyst, not the assessor, verifies the
case's current assessment; while the setting is on, no notice naming an unverified case goes out
(notices/services/notices.py asks `unverified_cases`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet

from notices.errors import NoticeError
from notices.infra.events import actor_label, record_event
from notices.models import Assessment, Url


class StaleCase(NoticeError):
    """The case changed since the page that asked for this change showed it."""

    def __init__(self, url: Url):
        who = url.changed_by.get_username() if url.changed_by else "someone"
        when = f"{url.changed_at:%Y-%m-%d %H:%M:%S} UTC" if url.changed_at else "meanwhile"
        super().__init__(
            {
                "revision": [
                    f"Case {url.pk} was changed by {who} at {when} after you opened it; your change was "
                    "not saved. Reload the case, look at the change, and make yours again."
                ]
            }
        )


def _user(user):
    return user if getattr(user, "is_authenticated", False) else None


def lock_case(url_id: int, *, revision: int | None) -> Url:
    """The case, locked for this transaction; StaleCase when `revision` (the one the analyst's page showed)
    is not the current one (None: no check)."""
    url = Url.objects.select_for_update(of=("self",)).select_related("changed_by").get(pk=url_id)
    if revision is not None and url.revision != revision:
        raise StaleCase(url)
    return url


def changed(url: Url, *, user, now: datetime, fields: Iterable[str] = ()) -> None:
    """Record an analyst's change of the locked case `url` (its `fields` already set): the revision bumped,
    who and when, the soft lock stamped."""
    url.revision += 1
    url.changed_by = url.worked_by = _user(user)
    url.changed_at = url.worked_at = now
    url.save(update_fields=[*fields, "revision", "changed_by", "changed_at", "worked_by", "worked_at"])


def assign(*, url_ids: Iterable[int], to, user, now: datetime, revision: int | None = None) -> list[int]:
    """Assign the cases to the analyst `to` (None: unassign). Writes `url.assigned` per case whose assignee
    changes; returns their ids. With `revision` (one case), refuses a stale page (StaleCase)."""
    done = []
    with transaction.atomic():
        for pk in sorted(set(url_ids)):
            url = lock_case(pk, revision=revision)
            if url.assigned_to_id == (to.pk if to else None):
                continue
            url.assigned_to, url.assigned_at = to, (now if to else None)
            changed(url, user=user, now=now, fields=["assigned_to", "assigned_at"])
            record_event(
                "url.assigned",
                at=now,
                url=url,
                actor=actor_label(user=user),
                data={"to": to.get_username() if to else "nobody"},
            )
            done.append(pk)
    return done


def held_by_others(cases: QuerySet[Url], *, user, now: datetime) -> dict[int, str]:
    """Of `cases`, those another analyst holds the soft lock on (had open or changed within
    CASE_LOCK_SECONDS before `now`): {case id: that analyst's username}. One query."""
    since = now - timedelta(seconds=settings.CASE_LOCK_SECONDS)
    held = cases.filter(worked_at__gte=since, worked_by__isnull=False)
    if _user(user) is not None:
        held = held.exclude(worked_by=user)
    name = f"worked_by__{get_user_model().USERNAME_FIELD}"
    return dict(held.order_by("pk").values_list("pk", name))


def touch(url: Url, *, user, now: datetime) -> None:
    """`user` has the case open: the soft lock's stamp (no revision: opening changes nothing)."""
    if _user(user) is not None:
        Url.objects.filter(pk=url.pk).update(worked_by=user, worked_at=now)


def verify(*, url: Url, user, now: datetime, revision: int | None = None) -> Assessment:
    """Verify the case's current assessment (four eyes): by an analyst other than its assessor, once.
    Writes `url.verified`. Raises NoticeError naming what is wrong, StaleCase for a stale page."""
    with transaction.atomic():
        url = lock_case(url.pk, revision=revision)
        assessment = (
            Assessment.objects.select_for_update().get(pk=url.current_assessment_id)
            if url.current_assessment_id
            else None
        )
        if assessment is None:
            raise NoticeError({"detail": [f"Case {url.pk} has no assessment to verify."]})
        if assessment.verified_at is not None:
            raise NoticeError({"detail": [f"Case {url.pk}: its assessment is verified already."]})
        if assessment.analyst_id is not None and assessment.analyst_id == getattr(user, "pk", None):
            raise NoticeError(
                {"detail": [f"Case {url.pk}: you assessed it; a second analyst must verify the assessment."]}
            )
        assessment.verified_by, assessment.verified_at = _user(user), now
        assessment.save(update_fields=["verified_by", "verified_at"])
        changed(url, user=user, now=now)
        record_event(
            "url.verified",
            at=now,
            url=url,
            actor=actor_label(user=user),
            data={"legality": assessment.legality, "assessor": _username(assessment.analyst)},
        )
    return assessment


def _username(user) -> str:
    return user.get_username() if user is not None else "the system"


def unverified_cases(url_ids: Iterable[int]) -> list[int]:
    """Of these cases, those no notice may name yet: with four-eyes on, the ones whose current assessment is
    not verified (one query); with it off, none."""
    ids = sorted(set(url_ids))
    if not settings.FOUR_EYES_VERIFICATION or not ids:
        return []
    return list(
        Url.objects.filter(pk__in=ids)
        .exclude(current_assessment__verified_at__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def unverified_error(url_ids: list[int]) -> dict[str, list[str]]:
    shown = ", ".join(map(str, url_ids[:20])) + (" …" if len(url_ids) > 20 else "")
    return {
        "detail": [
            f"Four-eyes verification is on: the assessment of case(s) {shown} is not verified by a second "
            "analyst yet, so no notice naming them may go out. Verify them (the “to verify” queue) first."
        ]
    }
