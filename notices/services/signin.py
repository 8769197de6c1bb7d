"""Sign-in limits for every login form (staff admin and provider portal): one policy, kept in the database.

The interface the login views call:

- `refusal(username=, ip=, now=)` → None when an attempt may be made, else a `Refusal` (its `until` and
  `status`); unknown and known names get the same answer. An allowed attempt is recorded at once as under
  way, so attempts sent in parallel (to one process or several) are counted before their passwords are
  checked; end it with one of the calls below (one left open counts as a failure for OPEN_ATTEMPT_TIMEOUT).
- `record_failure(username=, ip=, now=, user=None)` after a wrong password or code.
- `record_first_factor(user=, ip=, now=)` after a right password when the sign-in does not end here (a second
  factor follows, or this form does not serve the account): it neither counts nor clears failures.
- `record_success(user=, ip=, now=)` after a complete sign-in (every factor); a password reset by e-mail
  link counts as one for its client, since it proves the mailbox.

The policy (README "Sign-in limits"; settings SIGNIN_*). Everything is counted per account *name* as typed,
never per existing user, so a name nobody has behaves exactly like a real one; and per *client* (the IPv4
address, or the /64 of an IPv6 address, notices.infra.clients):

1. One name from one client: the first SIGNIN_FREE_FAILURES failures are free; from then on each attempt
   waits SIGNIN_DELAY × 2ⁿ after the latest failure (n = failures past the free ones), at most
   SIGNIN_DELAY_MAX. Failures before a success from that client, or older than SIGNIN_FAILURE_MEMORY, no
   longer count. Another client is not affected: a wrong password from one address never locks the owner
   out of another.
2. One client, every name: SIGNIN_ADDRESS_LIMIT failures in SIGNIN_ADDRESS_WINDOW, then the client waits
   until the oldest of them leaves the window.
3. One name, every client (distributed guessing): past SIGNIN_ACCOUNT_LIMIT failures in
   SIGNIN_ACCOUNT_WINDOW, clients that have not signed in with that name within SIGNIN_KNOWN_CLIENT_AGE wait
   until the window has room again; clients that have (the owner's usual addresses) are not held back, and
   the owner anywhere else gets in at once after a password reset from there.

A refusal is the same for every rule: 429 and the time the attempt may be made again. A refused attempt is
not counted and checks no password, so it takes the same (short) time for every name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count, Max, Q

from notices.enums import SignInOutcome
from notices.infra.clients import client_key
from notices.infra.events import audit
from notices.models import LoginAttempt

OPEN_ATTEMPT_TIMEOUT = timedelta(seconds=120)  # an attempt whose request died stops counting after this
NAME_LENGTH = LoginAttempt._meta.get_field("username").max_length
_LOCK_NAME, _LOCK_CLIENT = 0x5167, 0x5168  # advisory lock classes: one name, one client


@dataclass(frozen=True)
class Refusal:
    """Why no attempt is taken now, and until when."""

    until: datetime | None
    status: int = 429


def refusal(*, username: str, ip: str | None, now: datetime) -> Refusal | None:
    name, client = username[:NAME_LENGTH], client_key(ip)
    with transaction.atomic():
        # Decisions about one name or one client are taken one at a time, by every process: parallel attempts
        # each see the ones before them (always name before client, so two never wait for each other).
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_LOCK_NAME, name])
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_LOCK_CLIENT, client])
        until = _refused_until(name, client, now)
        if until is not None:
            return Refusal(until=until)
        LoginAttempt.objects.create(
            at=now, username=name, ip=ip, client=client, outcome=SignInOutcome.PENDING
        )
    return None


def record_failure(*, username: str, ip: str | None, now: datetime, user=None) -> None:
    name, client = username[:NAME_LENGTH], client_key(ip)
    _end_attempt(name, ip, client, now, SignInOutcome.FAILED)
    if _streak(name, client, now)["n"] == settings.SIGNIN_FREE_FAILURES:  # this failure starts the delays
        known = user or get_user_model().objects.filter(username=name).first()
        if known is not None:
            audit(
                actor=f"user:{name}",
                action="signin.delayed",
                obj=known,
                ip=ip,
                data={"failures": settings.SIGNIN_FREE_FAILURES},
            )


def record_first_factor(*, user, ip: str | None, now: datetime) -> None:
    _end_attempt(user.get_username()[:NAME_LENGTH], ip, client_key(ip), now, SignInOutcome.PASSED)


def record_success(*, user, ip: str | None, now: datetime) -> None:
    _end_attempt(user.get_username()[:NAME_LENGTH], ip, client_key(ip), now, SignInOutcome.SUCCEEDED)


def purge(*, now: datetime) -> int:
    """Delete attempts no rule looks at any more; returns how many."""
    counted_for = max(
        timedelta(seconds=settings.SIGNIN_FAILURE_MEMORY),
        timedelta(seconds=settings.SIGNIN_ADDRESS_WINDOW),
        timedelta(seconds=settings.SIGNIN_ACCOUNT_WINDOW),
        OPEN_ATTEMPT_TIMEOUT,
    )
    old_success = Q(
        outcome=SignInOutcome.SUCCEEDED, at__lt=now - timedelta(seconds=settings.SIGNIN_KNOWN_CLIENT_AGE)
    )
    old_other = ~Q(outcome=SignInOutcome.SUCCEEDED) & Q(at__lt=now - counted_for)
    deleted, _ = LoginAttempt.objects.filter(old_success | old_other).delete()
    return deleted


# --- The rules ----------------------------------------------------------------------------------------------


def _counted(now: datetime) -> Q:
    """Attempts that count as failures: failed ones, and ones under way unless their request died."""
    return Q(outcome=SignInOutcome.FAILED) | Q(
        outcome=SignInOutcome.PENDING, at__gt=now - OPEN_ATTEMPT_TIMEOUT
    )


def _last_success(name: str, client: str) -> datetime | None:
    return LoginAttempt.objects.filter(
        username=name, client=client, outcome=SignInOutcome.SUCCEEDED
    ).aggregate(at=Max("at"))["at"]


def _streak(name: str, client: str, now: datetime, last_success: datetime | None = None) -> dict:
    """Failures of this name from this client since its last success, within SIGNIN_FAILURE_MEMORY:
    {"n": how many, "last": the latest one's time}."""
    since = now - timedelta(seconds=settings.SIGNIN_FAILURE_MEMORY)
    last_success = last_success or _last_success(name, client)
    if last_success is not None and last_success > since:
        since = last_success
    return LoginAttempt.objects.filter(_counted(now), username=name, client=client, at__gt=since).aggregate(
        n=Count("pk"), last=Max("at")
    )


def delay_after(failures: int) -> timedelta:
    """The wait after `failures` failures of one name from one client (zero while they are free)."""
    past_free = failures - settings.SIGNIN_FREE_FAILURES
    if past_free < 0:
        return timedelta(0)
    seconds = settings.SIGNIN_DELAY * 2 ** min(past_free, 40)
    return timedelta(seconds=min(seconds, settings.SIGNIN_DELAY_MAX))


def _full_until(attempts, *, limit: int, window: float, now: datetime) -> datetime | None:
    """When a window of `window` seconds holding `limit` or more of `attempts` has room again."""
    window_td = timedelta(seconds=window)
    nth = list(
        attempts.filter(at__gt=now - window_td)
        .order_by("-at")
        .values_list("at", flat=True)[limit - 1 : limit]
    )
    return nth[0] + window_td if nth else None


def _refused_until(name: str, client: str, now: datetime) -> datetime | None:
    """The latest time any rule holds this attempt back to, or None when it may be made now."""
    last_success = _last_success(name, client)
    counted = LoginAttempt.objects.filter(_counted(now))
    streak = _streak(name, client, now, last_success)
    untils = [
        streak["last"] + delay_after(streak["n"]) if streak["n"] >= settings.SIGNIN_FREE_FAILURES else None,
        _full_until(
            counted.filter(client=client),
            limit=settings.SIGNIN_ADDRESS_LIMIT,
            window=settings.SIGNIN_ADDRESS_WINDOW,
            now=now,
        ),
    ]
    known_client = last_success is not None and last_success > now - timedelta(
        seconds=settings.SIGNIN_KNOWN_CLIENT_AGE
    )
    if not known_client:
        untils.append(
            _full_until(
                counted.filter(username=name),
                limit=settings.SIGNIN_ACCOUNT_LIMIT,
                window=settings.SIGNIN_ACCOUNT_WINDOW,
                now=now,
            )
        )
    until = max((u for u in untils if u is not None), default=None)
    return until if until is not None and until > now else None


def _end_attempt(name: str, ip: str | None, client: str, now: datetime, outcome: str) -> None:
    """Give the newest attempt under way of this name and client its outcome (or record one, when the caller
    did not ask `refusal` first)."""
    with transaction.atomic():
        attempt = (
            LoginAttempt.objects.select_for_update(skip_locked=True)
            .filter(
                username=name,
                client=client,
                outcome=SignInOutcome.PENDING,
                at__gt=now - OPEN_ATTEMPT_TIMEOUT,
            )
            .order_by("-at")
            .first()
        )
        if attempt is None:
            LoginAttempt.objects.create(at=now, username=name, ip=ip, client=client, outcome=outcome)
            return
        attempt.outcome, attempt.at = outcome, now
        attempt.save(update_fields=["outcome", "at"])
