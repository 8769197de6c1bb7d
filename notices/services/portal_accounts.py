"""Portal accounts: optional TOTP two-factor, invitations by e-mail.

Sign-in limits: notices/services/signin.py.

Invitations expire after PORTAL_INVITATION_MAX_AGE seconds (README "Settings").
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from notices.delivery.mail import new_mail, render_templates, send
from notices.infra.events import audit
from notices.models import HostingProvider, Invitation, PortalAccount, ProviderMembership
from notices.services import second_factor
from notices.services.second_factor import account_of, new_totp_secret, verify_totp

TOTP_ISSUER = "Takedown portal"


class AccountError(ValueError):
    """A refused account change; the message is shown to the user."""


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
