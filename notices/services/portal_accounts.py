"""Portal accounts: sign-in rate limit and lockout, optional TOTP two-factor, invitations by e-mail.

Counters live in the database (LoginAttempt, PortalAccount), not in a per-process cache, so every web worker
enforces the same limits. Settings (README "Settings"): PORTAL_LOGIN_RATE_LIMIT failures per client address in
PORTAL_LOGIN_RATE_WINDOW seconds; PORTAL_LOCKOUT_THRESHOLD consecutive failures lock an account for
PORTAL_LOCKOUT_DURATION seconds; invitations expire after PORTAL_INVITATION_MAX_AGE seconds.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from notices.delivery.mail import new_mail, render_templates, send
from notices.infra.events import audit
from notices.models import HostingProvider, Invitation, LoginAttempt, PortalAccount, ProviderMembership
from notices.services import second_factor
from notices.services.second_factor import account_of, new_totp_secret, verify_totp

TOTP_ISSUER = "Takedown portal"


class AccountError(ValueError):
    """A refused account change; the message is shown to the user."""


# --- Sign-in limits ---------------------------------------------------------------------------------------


def rate_limited(*, ip: str | None, now: datetime) -> bool:
    """True when this client address failed too often in the window (PORTAL_LOGIN_RATE_*)."""
    since = now - timedelta(seconds=settings.PORTAL_LOGIN_RATE_WINDOW)
    failures = LoginAttempt.objects.filter(ip=ip, at__gte=since, succeeded=False).count()
    return failures >= settings.PORTAL_LOGIN_RATE_LIMIT


def locked_until(user, *, now: datetime) -> datetime | None:
    """When the account's lockout ends, or None if it may sign in."""
    until = PortalAccount.objects.filter(user=user).values_list("locked_until", flat=True).first()
    return until if until and until > now else None


def record_login_failure(*, username: str, ip: str | None, now: datetime, user=None) -> bool:
    """Write the attempt; for a known account count the failure and lock it at the threshold.

    Returns True when this failure locked the account (an audit row `portal.lockout` is written then).
    """
    LoginAttempt.objects.create(at=now, username=username[:150], ip=ip, succeeded=False)
    if user is None:
        return False
    account_of(user)
    with transaction.atomic():
        account = PortalAccount.objects.select_for_update().get(user=user)
        account.failed_logins = F("failed_logins") + 1
        account.save(update_fields=["failed_logins"])
        account.refresh_from_db(fields=["failed_logins"])
        if account.failed_logins < settings.PORTAL_LOCKOUT_THRESHOLD:
            return False
        account.failed_logins = 0
        account.locked_until = now + timedelta(seconds=settings.PORTAL_LOCKOUT_DURATION)
        account.save(update_fields=["failed_logins", "locked_until"])
    audit(actor=f"user:{user.get_username()}", action="portal.lockout", obj=user, ip=ip)
    return True


def record_login_success(*, user, ip: str | None, now: datetime) -> None:
    """Write the attempt and clear the account's failure count."""
    LoginAttempt.objects.create(at=now, username=user.get_username(), ip=ip, succeeded=True)
    PortalAccount.objects.update_or_create(user=user, defaults={"failed_logins": 0, "locked_until": None})


def clear_lockout(user) -> None:
    """A password reset proves the mailbox: it lifts a lockout."""
    PortalAccount.objects.filter(user=user).update(failed_logins=0, locked_until=None)


# --- TOTP (the mechanism is notices.services.second_factor, shared with the staff sign-in) ---------------


def start_totp(user) -> str:
    """Begin enrolment: a fresh secret, stored but not yet required. Returns the otpauth:// URI."""
    account = account_of(user)
    if account.totp_enabled:
        raise AccountError(_("Two-factor sign-in is already on."))
    new_totp_secret(account)
    return totp_uri(account)


def totp_uri(account: PortalAccount) -> str:
    return second_factor.totp_uri(account, issuer=TOTP_ISSUER)


def confirm_totp(user, code: str, *, now: datetime) -> None:
    """Finish enrolment with a first valid code; from now on sign-in asks for a code."""
    account = account_of(user)
    if not verify_totp(account, code, now=now):
        raise AccountError(_("That code is not valid. Check the time on your device and try again."))
    account.totp_enabled_at = now
    account.save(update_fields=["totp_enabled_at"])
    audit(actor=f"user:{user.get_username()}", action="portal.totp_on", obj=user)


def disable_totp(user, code: str, *, now: datetime) -> None:
    account = account_of(user)
    if not verify_totp(account, code, now=now):
        raise AccountError(_("That code is not valid. Check the time on your device and try again."))
    account.totp_secret, account.totp_enabled_at, account.totp_last_step = "", None, None
    account.save(update_fields=["totp_secret", "totp_enabled_at", "totp_last_step"])
    audit(actor=f"user:{user.get_username()}", action="portal.totp_off", obj=user)


# --- Invitations ------------------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class SentInvitation:
    invitation: Invitation
    link: str


def invite_user(
    *, provider: HostingProvider, email: str, is_admin: bool, invited_by, now: datetime
) -> SentInvitation:
    """Create an invitation and e-mail its link (in the provider's language) to `email`.

    Side effects: an Invitation row (only the token's SHA-256 is stored), the mail, an audit row
    `portal.invite`. Raises AccountError when a user with that e-mail already belongs to a provider.
    """
    email = email.strip().lower()
    if ProviderMembership.objects.filter(user__email__iexact=email).exists():
        raise AccountError(_("Someone with this e-mail address already has a portal account."))
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        provider=provider,
        email=email,
        is_admin=is_admin,
        token_hash=_token_hash(token),
        invited_by=invited_by if getattr(invited_by, "is_authenticated", False) else None,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.PORTAL_INVITATION_MAX_AGE),
    )
    link = f"{settings.PUBLIC_BASE_URL}/portal/invitation/{token}/"
    context = {"provider": provider, "link": link, "invitation": invitation, "hotline": settings.HOTLINE_NAME}
    subject, body, _html = render_templates(
        subject="notices/portal/mail/invitation_subject.txt",
        text="notices/portal/mail/invitation.txt",
        context=context,
        language=provider.language,
    )
    send(
        new_mail(
            idstring=f"invitation-{invitation.pk}", subject=subject, text=body, recipients=[email], now=now
        )
    )
    actor = f"user:{invited_by.get_username()}" if invitation.invited_by else "system"
    audit(actor=actor, action="portal.invite", obj=provider, data={"email": email, "is_admin": is_admin})
    return SentInvitation(invitation, link)


def find_invitation(token: str, *, now: datetime) -> Invitation | None:
    """The open invitation for this link's token, or None (unknown, used, revoked or expired)."""
    return (
        Invitation.objects.select_related("provider")
        .filter(
            token_hash=_token_hash(token),
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
        )
        .first()
    )


def accept_invitation(*, invitation: Invitation, username: str, password: str, now: datetime):
    """Create the user with its password and provider membership; the invitation is used up.

    Raises AccountError when the username is taken or the invitation was used meanwhile.
    """
    User = get_user_model()
    try:
        with transaction.atomic():
            claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
                accepted_at=now
            )
            if not claimed:
                raise AccountError(_("This invitation has already been used."))
            user = User.objects.create_user(username=username, email=invitation.email, password=password)
            ProviderMembership.objects.create(
                user=user, provider=invitation.provider, is_admin=invitation.is_admin
            )
            PortalAccount.objects.create(user=user)
            Invitation.objects.filter(pk=invitation.pk).update(accepted_user=user)
    except IntegrityError:
        raise AccountError(_("This username is taken; choose another.")) from None
    audit(
        actor=f"user:{username}",
        action="portal.invitation_accepted",
        obj=invitation.provider,
        data={"email": invitation.email},
    )
    return user


def revoke_invitation(*, invitation: Invitation, now: datetime) -> None:
    Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(revoked_at=now)
