"""The second factor (notices/services/second_factor.py): TOTP without replay, recovery codes used once and
stored hashed, renewal, a supervisor's reset, and the stamp that ends sessions of a reset factor."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pyotp
import pytest

from notices.models import AuditEvent, PortalAccount, RecoveryCode
from notices.services import second_factor

pytestmark = pytest.mark.django_db


def _enrolled(user, now):
    account = second_factor.start_enrolment(user)
    codes = second_factor.confirm_enrolment(user, pyotp.TOTP(account.totp_secret).at(now), now=now, ip=None)
    return account.totp_secret, codes


def test_second_factor_enrolment_needs_a_valid_code_and_returns_ten_codes(analyst, now):
    account = second_factor.start_enrolment(analyst)
    assert not second_factor.has_factor(analyst)
    with pytest.raises(second_factor.FactorError):
        second_factor.confirm_enrolment(analyst, "000000", now=now, ip=None)
    code = pyotp.TOTP(account.totp_secret).at(now)
    codes = second_factor.confirm_enrolment(analyst, code, now=now, ip=None)
    assert second_factor.has_factor(analyst)
    assert len(codes) == len(set(codes)) == 10
    assert all(len(code) == 14 and code.count("-") == 2 for code in codes)
    stored = set(RecoveryCode.objects.filter(user=analyst).values_list("code_hash", flat=True))
    assert stored == {hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in codes}
    assert list(AuditEvent.objects.values_list("action", "actor")) == [("staff.2fa_enrolled", "user:analyst")]
    with pytest.raises(second_factor.FactorError):
        second_factor.start_enrolment(analyst)  # already on


def test_second_factor_totp_code_is_never_accepted_twice(analyst, now):
    secret, _codes = _enrolled(analyst, now)
    later = now + timedelta(seconds=30)
    code = pyotp.TOTP(secret).at(later)
    assert second_factor.verify_code(analyst, code, now=later, ip=None)
    assert not second_factor.verify_code(analyst, code, now=later, ip=None)
    older = pyotp.TOTP(secret).at(now)
    assert not second_factor.verify_code(analyst, older, now=later, ip=None)


def test_second_factor_recovery_code_works_once_in_any_spelling(analyst, now):
    _secret, codes = _enrolled(analyst, now)
    spelled = " " + codes[3].upper().replace("-", " ") + " "
    assert second_factor.verify_code(analyst, spelled, now=now, ip="192.0.2.7")
    assert not second_factor.verify_code(analyst, codes[3], now=now, ip=None)
    assert second_factor.recovery_codes_left(analyst) == 9
    used = AuditEvent.objects.get(action="staff.recovery_code_used")
    assert (used.actor, used.ip, used.data) == ("user:analyst", "192.0.2.7", {"left": 9})
    assert not second_factor.verify_code(analyst, "abcd-efgh-jkmn", now=now, ip=None)


def test_second_factor_codes_of_one_user_do_not_sign_in_another(analyst, django_user_model, now):
    other = django_user_model.objects.create_user("other", password="other-pass-123", is_staff=True)
    _secret, codes = _enrolled(analyst, now)
    _enrolled(other, now)
    assert not second_factor.verify_code(other, codes[0], now=now, ip=None)
    assert second_factor.verify_code(analyst, codes[0], now=now, ip=None)


def test_second_factor_without_factor_accepts_nothing(analyst, now):
    account = second_factor.start_enrolment(analyst)  # a secret, but not confirmed
    assert not second_factor.verify_code(analyst, pyotp.TOTP(account.totp_secret).at(now), now=now, ip=None)


def test_second_factor_renewal_replaces_every_code(analyst, now):
    _secret, old = _enrolled(analyst, now)
    new = second_factor.renew_recovery_codes(analyst, now=now, ip=None)
    assert not set(old) & set(new)
    assert not second_factor.verify_code(analyst, old[0], now=now, ip=None)
    assert second_factor.verify_code(analyst, new[0], now=now, ip=None)
    assert AuditEvent.objects.filter(action="staff.recovery_codes_renewed").count() == 1


def test_second_factor_reset_clears_factor_and_codes_and_is_audited(analyst, django_user_model, now):
    boss = django_user_model.objects.create_superuser("boss", password="boss-pass-1234")
    _enrolled(analyst, now)
    stamp = second_factor.factor_stamp(analyst)
    assert stamp
    second_factor.reset_factor(analyst, by=boss, ip="192.0.2.9")
    account = PortalAccount.objects.get(user=analyst)
    assert (account.totp_secret, account.totp_enabled_at, account.totp_last_step) == ("", None, None)
    assert not RecoveryCode.objects.filter(user=analyst).exists()
    assert second_factor.factor_stamp(analyst) == ""
    row = AuditEvent.objects.get(action="staff.2fa_reset")
    assert (row.actor, row.object_id, row.ip, row.data) == (
        "user:boss",
        str(analyst.pk),
        "192.0.2.9",
        {"had_factor": True, "recovery_codes": 10},
    )
    _enrolled(analyst, now + timedelta(minutes=1))
    assert second_factor.factor_stamp(analyst) not in {"", stamp}  # a new factor: old sessions stay ended


def test_second_factor_reset_of_own_factor_refused(analyst, now):
    _enrolled(analyst, now)
    with pytest.raises(second_factor.FactorError):
        second_factor.reset_factor(analyst, by=analyst, ip=None)
    assert second_factor.has_factor(analyst)
