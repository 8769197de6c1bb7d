"""The one-click token is made by Django's `TimestampSigner` (one per batch) and is exactly what
`signing.dumps` makes (the portal verifies it with the same signer's `unsign_object`): same bytes at the same
second, verified, expiring, bound to the secret key."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core import signing

from notices.delivery.compose import ONE_CLICK_SALT, one_click_signer, one_click_token


class _Notice:
    reference = "TN-2026-000123"


@pytest.mark.parametrize("action", ["acknowledge", "removed", "open"])
@pytest.mark.parametrize("second", [0, 61, 1_796_000_000])
def test_token_is_byte_for_byte_what_signing_dumps_makes(action, second):
    with mock.patch("time.time", return_value=second + 0.75):
        ours = one_click_token(_Notice, action)
        django = signing.dumps({"n": _Notice.reference, "a": action}, salt=ONE_CLICK_SALT)
    assert ours == django


def test_token_follows_the_clock_within_one_signer():
    signer = one_click_signer("k" * 50)
    with mock.patch("time.time", return_value=1_796_000_000.0):
        first = signer.sign_object({"n": "TN-2026-000001", "a": "removed"})
    with mock.patch("time.time", return_value=1_796_000_100.0):
        later = signer.sign_object({"n": "TN-2026-000001", "a": "removed"})
    assert first != later
    with mock.patch("time.time", return_value=1_796_000_100.0):
        django = signing.dumps({"n": "TN-2026-000001", "a": "removed"}, key="k" * 50, salt=ONE_CLICK_SALT)
    assert later == django


def test_token_verifies_expires_and_is_bound_to_the_key(settings):
    token = one_click_token(_Notice, "removed")
    assert signing.loads(token, salt=ONE_CLICK_SALT, max_age=60) == {"n": _Notice.reference, "a": "removed"}
    with pytest.raises(signing.BadSignature):
        signing.loads(token, salt="another.salt")
    with pytest.raises(signing.BadSignature):
        signing.loads(token, key="another-secret-key-" * 3, salt=ONE_CLICK_SALT)
    with mock.patch("time.time", return_value=10.0):
        old = one_click_token(_Notice, "removed")
    with pytest.raises(signing.SignatureExpired):
        signing.loads(old, salt=ONE_CLICK_SALT, max_age=60)
    settings.SECRET_KEY = "a-rotated-secret-key-that-is-long-enough-for-django-" * 2
    rotated = one_click_token(_Notice, "removed")
    assert rotated != token
    assert signing.loads(rotated, salt=ONE_CLICK_SALT)["a"] == "removed"
