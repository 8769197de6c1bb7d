"""API keys: created once, shown once, stored as SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.utils import timezone

from notices.enums import KeyScope
from notices.models import ApiKey

KEY_PREFIX_LEN = 8
STAFF_SCOPES = (KeyScope.USER, KeyScope.INBOUND)  # keys owned by a staff user, dead once they are not staff


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


PARTNER_SCOPES = frozenset({KeyScope.PARTNER, KeyScope.BLOCKLIST, KeyScope.BLOCKLIST_URLS})


def create_api_key(
    *, scope: str, partner=None, provider=None, user=None, name: str = ""
) -> tuple[ApiKey, str]:
    """Create a key for one owner; return (row, plaintext key). The plaintext is never stored."""
    prefix = secrets.token_hex(KEY_PREFIX_LEN // 2)
    plaintext = f"tt_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        key_hash=_hash(plaintext),
        scope=scope,
        partner=partner if scope in PARTNER_SCOPES else None,
        provider=provider if scope == KeyScope.PROVIDER else None,
        user=user if scope in STAFF_SCOPES else None,
    )
    return key, plaintext


def find_api_key(plaintext: str) -> ApiKey | None:
    """The live key matching `plaintext`, or None. Constant-time hash comparison."""
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != "tt" or len(parts[1]) != KEY_PREFIX_LEN:
        return None
    key = (
        ApiKey.objects.select_related("partner", "provider", "user")
        .filter(prefix=parts[1], revoked_at__isnull=True)
        .first()
    )
    if key is None or not hmac.compare_digest(key.key_hash, _hash(plaintext)):
        return None
    if key.scope in STAFF_SCOPES and not (key.user.is_active and key.user.is_staff):
        return None
    return key


def revoke_api_key(*, key: ApiKey) -> None:
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
