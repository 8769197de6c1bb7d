"""Provider API credentials at rest: JSON encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from
`cryptography`) under the key(s) in CHANNEL_CREDENTIALS_KEY.

The setting holds one or more Fernet keys, comma-separated: the first encrypts, every one decrypts
(`MultiFernet`), so a key is rotated by putting the new one first, re-saving the credentials, then dropping
the old one. The key lives only in the environment, never in the database: a database dump alone does not
give the providers' tokens away. Decrypted values exist only in the worker's memory while a request is signed
or sent; they are never logged or shown.
"""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class CredentialsError(Exception):
    """No usable key, or stored credentials this key cannot read."""


def _fernet() -> MultiFernet:
    keys = [key.strip() for key in settings.CHANNEL_CREDENTIALS_KEY.split(",") if key.strip()]
    if not keys:
        raise CredentialsError("CHANNEL_CREDENTIALS_KEY is not set: provider API credentials cannot be used.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError:
        raise CredentialsError("CHANNEL_CREDENTIALS_KEY is not a valid Fernet key.") from None


def encrypt_credentials(values: dict[str, str]) -> str:
    """The token to store for `values` (a flat dict of strings)."""
    return _fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def decrypt_credentials(token: str) -> dict[str, str]:
    """The values stored as `token` ({} when nothing is stored)."""
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise CredentialsError(
            "The stored credentials cannot be read with CHANNEL_CREDENTIALS_KEY."
        ) from None


def new_key() -> str:
    """A fresh key for CHANNEL_CREDENTIALS_KEY."""
    return Fernet.generate_key().decode()
