"""The second factor of a sign-in: a TOTP code from an authenticator app (optional in the provider portal,
mandatory for staff), and for staff single-use recovery codes.

One TOTP mechanism serves both: the secret and its state live on the user's PortalAccount row
(`totp_secret`, `totp_enabled_at`, `totp_last_step`); a code is accepted for the current or a neighbouring
30 s step, never for the same step twice. The portal's optional on/off switch is in portal_accounts; the
staff flows are here: enrolment on first sign-in (which also hands out the recovery codes), codes at sign-in
and re-authentication, new recovery codes, and a supervisor's reset of a lost factor. Every staff change
writes an audit row.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import pyotp
import segno
from django.db import transaction

from notices.infra.events import audit
from notices.models import PortalAccount, RecoveryCode

STAFF_ISSUER = "Takedown tracker"
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o or 1/i/l to confuse
RECOVERY_CODE_LENGTH = 12  # about 59 bits, shown in groups of four


class FactorError(ValueError):
    """A refused change of a second factor; the message is shown to the user."""


def account_of(user) -> PortalAccount:
    account, _ = PortalAccount.objects.get_or_create(user=user)
    return account


def _actor(user) -> str:
    return f"user:{user.get_username()}"


# --- TOTP, for every sign-in that asks for a code ----------------------------------------------------------


def new_totp_secret(account: PortalAccount) -> None:
    """Begin an enrolment: a fresh secret, stored but not yet required (`totp_enabled_at` stays empty)."""
    account.totp_secret, account.totp_last_step = pyotp.random_base32(), None
    account.save(update_fields=["totp_secret", "totp_last_step"])


def totp_uri(account: PortalAccount, *, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(account.totp_secret).provisioning_uri(
        name=account.user.get_username(), issuer_name=issuer
    )


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code (attributes only, no inline style: it passes the CSP)."""
    return segno.make(uri, error="m").svg_inline(scale=4, border=2)


def verify_totp(account: PortalAccount, code: str, *, now: datetime) -> bool:
    """Accept a code of this or the neighbouring 30 s step, never the same step twice (no replay)."""
    code = "".join(code.split())
    if not account.totp_secret or not code.isdigit():
        return False
    totp = pyotp.TOTP(account.totp_secret)
    for offset in (-1, 0, 1):
        at = now + timedelta(seconds=30 * offset)
        step = totp.timecode(at)
        if secrets.compare_digest(totp.at(at), code) and (account.totp_last_step or -1) < step:
            updated = PortalAccount.objects.filter(
                pk=account.pk, totp_last_step=account.totp_last_step
            ).update(totp_last_step=step)
            account.totp_last_step = step
            return updated == 1
    return False


# --- Staff: enrolment, codes, recovery codes, reset --------------------------------------------------------


def has_factor(user) -> bool:
    return PortalAccount.objects.filter(user=user, totp_enabled_at__isnull=False).exists()


def factor_stamp(user) -> str:
    """Names the factor the user has now ("" for none): a session remembers the one it passed, so a reset (or
    a new enrolment after one) ends every session signed in with the old factor."""
    enabled_at = PortalAccount.objects.filter(user=user).values_list("totp_enabled_at", flat=True).first()
    return f"{enabled_at.timestamp():.6f}" if enabled_at else ""


def start_enrolment(user) -> PortalAccount:
    """A staff user without a factor gets a fresh secret to scan; nothing is required of them until they
    confirm it with a code. Raises FactorError when a factor is already on."""
    account = account_of(user)
    if account.totp_enabled:
        raise FactorError("A second factor is already set up for this account.")
    new_totp_secret(account)
    return account


def confirm_enrolment(user, code: str, *, now: datetime, ip: str | None) -> list[str]:
    """Finish the enrolment with a first valid code: the factor is on, and the new recovery codes are returned
    (to be shown once). Audit row `staff.2fa_enrolled`. Raises FactorError for a wrong code."""
    account = account_of(user)
    if account.totp_enabled or not verify_totp(account, code, now=now):
        raise FactorError("That code is not valid. Check the time on your device and try again.")
    with transaction.atomic():
        account.totp_enabled_at = now
        account.save(update_fields=["totp_enabled_at"])
        codes = _replace_recovery_codes(user, now=now)
    audit(actor=_actor(user), action="staff.2fa_enrolled", obj=user, ip=ip)
    return codes


def verify_code(user, code: str, *, now: datetime, ip: str | None) -> bool:
    """The second step of a staff sign-in or re-authentication: a TOTP code, or else one of the user's unused
    recovery codes (used up by this; audit row `staff.recovery_code_used` with how many are left)."""
    account = PortalAccount.objects.filter(user=user, totp_enabled_at__isnull=False).first()
    if account is None:
        return False
    if verify_totp(account, code, now=now):
        return True
    normalised = _normalise(code)
    if len(normalised) != RECOVERY_CODE_LENGTH:
        return False
    used = RecoveryCode.objects.filter(user=user, code_hash=_hash(normalised), used_at__isnull=True).update(
        used_at=now
    )
    if used:
        audit(
            actor=_actor(user),
            action="staff.recovery_code_used",
            obj=user,
            ip=ip,
            data={"left": recovery_codes_left(user)},
        )
    return bool(used)


def recovery_codes_left(user) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def renew_recovery_codes(user, *, now: datetime, ip: str | None) -> list[str]:
    """A new set of recovery codes (returned, to be shown once); the old ones stop working. Audit row
    `staff.recovery_codes_renewed`. Raises FactorError when the user has no factor."""
    if not has_factor(user):
        raise FactorError("Set up the authenticator app first.")
    codes = _replace_recovery_codes(user, now=now)
    audit(actor=_actor(user), action="staff.recovery_codes_renewed", obj=user, ip=ip)
    return codes


def reset_factor(user, *, by, ip: str | None) -> None:
    """A supervisor resets the lost factor of another user: secret and recovery codes are gone, the sessions
    signed in with them end (factor_stamp), and the user enrols again at the next sign-in. Audit row
    `staff.2fa_reset` (actor: the supervisor). Raises FactorError for one's own account."""
    if user.pk == by.pk:
        raise FactorError("You cannot reset your own second factor; ask another supervisor.")
    with transaction.atomic():
        had = PortalAccount.objects.filter(user=user, totp_enabled_at__isnull=False).exists()
        PortalAccount.objects.filter(user=user).update(
            totp_secret="", totp_enabled_at=None, totp_last_step=None
        )
        codes = RecoveryCode.objects.filter(user=user).delete()[0]
    audit(
        actor=_actor(by),
        action="staff.2fa_reset",
        obj=user,
        ip=ip,
        data={"had_factor": had, "recovery_codes": codes},
    )


def _replace_recovery_codes(user, *, now: datetime) -> list[str]:
    codes: list[str] = []
    while len(codes) < RECOVERY_CODE_COUNT:
        code = "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        if code not in codes:
            codes.append(code)
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, code_hash=_hash(code), created_at=now) for code in codes
    )
    return ["-".join(code[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4)) for code in codes]


def _normalise(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _hash(normalised: str) -> str:
    return hashlib.sha256(normalised.encode()).hexdigest()
