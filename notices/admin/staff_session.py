"""What a staff session remembers of its sign-in, and when it must end (README "Staff sign-in").

Only after both sign-in steps (password, then the second factor) does the session hold MARK: the user, the
factor it passed (second_factor.factor_stamp), when it signed in, when it was last seen, and when password and
code were last given (the sign-in itself or a re-authentication). The gate (notices.admin.gate) reads it on
every staff URL; the sign-in views (notices.admin.sign_in) write it.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from notices.services import second_factor

MARK = "staff_sign_in"

UNVERIFIED = "unverified"  # signed in without the second factor (another sign-in page, or never)
RESET = "reset"  # the factor this session passed has been reset since
IDLE = "idle"  # no request for STAFF_SESSION_IDLE_TIMEOUT
EXPIRED = "expired"  # signed in longer ago than STAFF_SESSION_MAX_AGE


def mark_signed_in(session, user, *, now: datetime) -> None:
    """Both steps passed: from now on the gate lets this session through."""
    at = now.timestamp()
    session[MARK] = {
        "user": user.pk,
        "factor": second_factor.factor_stamp(user),
        "at": at,
        "seen": at,
        "proved": at,
    }


def problem(session, user, *, now: datetime) -> str | None:
    """Why this session may not see staff pages (one of the constants above), or None."""
    mark = session.get(MARK)
    if not isinstance(mark, dict) or mark.get("user") != user.pk:
        return UNVERIFIED
    stamp = second_factor.factor_stamp(user)
    if not stamp or mark.get("factor") != stamp:
        return RESET
    at = now.timestamp()
    if at - mark["seen"] > settings.STAFF_SESSION_IDLE_TIMEOUT:
        return IDLE
    if at - mark["at"] > settings.STAFF_SESSION_MAX_AGE:
        return EXPIRED
    return None


def touch(session, *, now: datetime) -> None:
    """A request: the idle timeout starts again."""
    session[MARK] = {**session[MARK], "seen": now.timestamp()}


def mark_reauthenticated(session, *, now: datetime) -> None:
    session[MARK] = {**session[MARK], "proved": now.timestamp()}


def reauthenticated_recently(session, *, now: datetime) -> bool:
    """Password and code given within STAFF_REAUTH_WINDOW (at sign-in or on the re-authentication page)."""
    mark = session.get(MARK) or {}
    return now.timestamp() - mark.get("proved", 0) <= settings.STAFF_REAUTH_WINDOW
