"""Sign-in limits for every login form (staff admin and provider portal): one policy, kept in the database.

The interface the login views call:

- `refusal(username=, ip=, now=)` → None when an attempt may be made, else a `Refusal` (its `until` and
  `status`); unknown and known names get the same answer.
- `record_failure(username=, ip=, now=, user=None)` after a wrong password or code.
- `record_success(user=, ip=, now=)` after a complete sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model

from notices.services import portal_accounts


@dataclass(frozen=True)
class Refusal:
    """Why no attempt is taken now, and until when."""

    until: datetime | None
    status: int = 429


def refusal(*, username: str, ip: str | None, now: datetime) -> Refusal | None:
    if portal_accounts.rate_limited(ip=ip, now=now):
        return Refusal(until=None, status=429)
    known = get_user_model().objects.filter(username=username).first()
    until = portal_accounts.locked_until(known, now=now) if known else None
    return Refusal(until=until, status=403) if until else None


def record_failure(*, username: str, ip: str | None, now: datetime, user=None) -> None:
    portal_accounts.record_login_failure(username=username, ip=ip, now=now, user=user)


def record_success(*, user, ip: str | None, now: datetime) -> None:
    portal_accounts.record_login_success(user=user, ip=ip, now=now)
