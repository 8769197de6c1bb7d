"""API keys: created once, shown once, stored as SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from notices.enums import KeyScope
from notices.models import ApiKey, HostingProvider, Partner
from notices.models.accounts import validate_key_rate

KEY_PREFIX_LEN = 8
STAFF_SCOPES = (KeyScope.USER, KeyScope.INBOUND)  # keys owned by a staff user, dead once they are not staff


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


PARTNER_SCOPES = frozenset({KeyScope.PARTNER, KeyScope.BLOCKLIST, KeyScope.BLOCKLIST_URLS})


def create_api_key(
    *, scope: str, partner=None, provider=None, user=None, name: str = "", rate: str = ""
) -> tuple[ApiKey, str]:
    """Create a key for one owner; return (row, plaintext key). The plaintext is never stored. `rate`: the
    key's own request rate (`N/s`, `/min`, `/hour`, `/day`) instead of API_THROTTLE_RATE; a bad one raises
    ValidationError."""
    prefix = secrets.token_hex(KEY_PREFIX_LEN // 2)
    plaintext = f"tt_{prefix}_{secrets.token_urlsafe(32)}"
    rate = rate.strip()
    if rate:
        validate_key_rate(rate)
    key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        key_hash=_hash(plaintext),
        scope=scope,
        partner=partner if scope in PARTNER_SCOPES else None,
        provider=provider if scope == KeyScope.PROVIDER else None,
        user=user if scope in STAFF_SCOPES else None,
        rate=rate,
    )
    return key, plaintext


def find_api_key(plaintext: str) -> ApiKey | None:
    """The live key matching `plaintext`, or None. Constant-time hash comparison."""
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != "tt" or len(parts[1]) != KEY_PREFIX_LEN:
        return None
    key = _live_key_with_owner(parts[1])
    if key is None or not hmac.compare_digest(key.key_hash, _hash(plaintext)):
        return None
    if key.scope in STAFF_SCOPES and not (key.user.is_active and key.user.is_staff):
        return None
    return key


# --- The lookup every API request makes ---------------------------------------------------------------------
# One statement written once per process: the live key of a prefix and its owner (partner, provider or user),
# each row turned into model instances as the ORM's select_related would. Compiling that ORM query on every
# request was about half the web process's CPU for a single report (benchmark P6).


def _owners() -> tuple[tuple[str, type, str], ...]:
    return (("partner", Partner, "p"), ("provider", HostingProvider, "h"), ("user", get_user_model(), "u"))


@cache
def _lookup_sql() -> str:
    models = [(ApiKey, "k"), *((model, alias) for _, model, alias in _owners())]
    columns = ", ".join(
        f'{alias}."{f.column}"' for model, alias in models for f in model._meta.concrete_fields
    )
    joins = " ".join(
        f'LEFT JOIN {model._meta.db_table} {alias} ON {alias}."{model._meta.pk.column}" = k."{name}_id"'
        for name, model, alias in _owners()
    )
    table = ApiKey._meta.db_table
    return f"SELECT {columns} FROM {table} k {joins} WHERE k.prefix = %s AND k.revoked_at IS NULL"


def _instance(model, values: list):
    """A model instance from its row's values, with each field's own conversion from the database."""
    fields = model._meta.concrete_fields
    converted = [
        f.from_db_value(v, None, connection) if v is not None and hasattr(f, "from_db_value") else v
        for f, v in zip(fields, values, strict=True)
    ]
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


def _live_key_with_owner(prefix: str) -> ApiKey | None:
    with connection.cursor() as cursor:
        cursor.execute(_lookup_sql(), [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    width = len(ApiKey._meta.concrete_fields)
    key, start = _instance(ApiKey, list(row[:width])), width
    for name, model, _ in _owners():
        end = start + len(model._meta.concrete_fields)
        values = list(row[start:end])
        owner_pk = values[[f.attname for f in model._meta.concrete_fields].index(model._meta.pk.attname)]
        key._state.fields_cache[name] = None if owner_pk is None else _instance(model, values)
        start = end
    return key


def revoke_api_key(*, key: ApiKey) -> None:
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
