"""Bearer-key authentication, scope and role permissions, and the request limits shared by every web process.

Every API request is counted once (notices/infra/ratelimit.py, one statement): with a valid key in the key's
bucket (the key's own `rate` when it has one, else API_THROTTLE_RATE); without one — no key, a malformed,
wrong or revoked one — in its client address's bucket (API_ANON_THROTTLE_RATE). Over the rate: 429 with
Retry-After until the window ends. A client address over its rate is refused with a valid key too, so a
process that was told so refuses its next requests before it looks any key up. A key is only looked up when
it is well-formed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from notices.enums import KeyScope
from notices.infra import ratelimit
from notices.infra.clients import client_ip, client_key
from notices.models import ApiKey
from notices.services.keys import find_api_key

COUNTED = "_rate_limit_counted"  # set on a request once it was counted (the throttle then adds nothing)


@dataclass
class ApiPrincipal:
    """What `request.user` is for a key: the key's owner, with its scope."""

    key: ApiKey
    is_authenticated: bool = True
    is_active: bool = True

    @property
    def scope(self) -> str:
        return self.key.scope

    @property
    def partner(self):
        return self.key.partner

    @property
    def provider(self):
        return self.key.provider

    @property
    def user(self):
        return self.key.user

    @property
    def is_staff(self) -> bool:
        return self.key.scope == KeyScope.USER


def _address_bucket(request) -> str:
    return f"api-addr:{client_key(client_ip(request))}"


def _check(verdict: ratelimit.Verdict | None) -> None:
    if verdict is not None and not verdict.allowed:
        raise exceptions.Throttled(wait=verdict.retry_after)


def _count_without_key(request, bucket: str, now: float) -> None:
    """Count a request without a valid key in its address's bucket; raise Throttled over the rate."""
    setattr(request, COUNTED, True)
    _check(ratelimit.count(bucket, settings.API_ANON_THROTTLE_RATE, now=now))


class BearerKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        now = time.time()
        address = _address_bucket(request)
        _check(ratelimit.remembered(address, now=now))  # refused here before: no key lookup, no statement
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            _count_without_key(request, address, now)
            return None
        if len(header) != 2:
            _count_without_key(request, address, now)
            raise exceptions.AuthenticationFailed("Invalid Authorization header: use 'Bearer KEY'.")
        try:
            plaintext = header[1].decode("ascii")
        except UnicodeDecodeError:
            _count_without_key(request, address, now)
            raise exceptions.AuthenticationFailed("Invalid API key.") from None
        key = find_api_key(plaintext)  # a malformed key is refused without a lookup
        if key is None:
            _count_without_key(request, address, now)
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        bucket = f"api-key:{key.pk}"
        _check(ratelimit.remembered(bucket, now=now))
        setattr(request, COUNTED, True)
        _check(
            ratelimit.count(
                bucket,
                key.rate or settings.API_THROTTLE_RATE,
                now=now,
                watch=(address, settings.API_ANON_THROTTLE_RATE),
            )
        )
        current = timezone.now()
        if key.last_used_at is None or (current - key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=current)  # at most once a minute per key
        return ApiPrincipal(key), key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class BearerKeyScheme(OpenApiAuthenticationExtension):
    """Publishes the key scheme in the OpenAPI schema, so /api/docs/ can send a key ("Authorize")."""

    target_class = BearerKeyAuthentication
    name = "bearerKey"

    def get_security_definition(self, auto_schema) -> dict:
        return {"type": "http", "scheme": "bearer", "description": "An API key: `Authorization: Bearer KEY`."}


class _ScopePermission(permissions.BasePermission):
    scopes: frozenset[str] = frozenset()
    message = "This API key's scope does not allow this request."

    def has_permission(self, request, view) -> bool:
        principal = request.user
        return isinstance(principal, ApiPrincipal) and principal.scope in self.scopes


class IsStaff(_ScopePermission):
    scopes = frozenset({KeyScope.USER})
    message = "This endpoint needs a staff (user) API key."


class IsPartnerOrStaff(_ScopePermission):
    scopes = frozenset({KeyScope.PARTNER, KeyScope.USER})
    message = "This endpoint needs a partner or staff API key."


class IsProvider(_ScopePermission):
    scopes = frozenset({KeyScope.PROVIDER})
    message = "This endpoint needs a provider API key."


class IsBlocklistReader(_ScopePermission):
    """The blocking list: a partner key of scope `blocklist` (hashes) or `blockurls` (plain URLs)."""

    scopes = frozenset({KeyScope.BLOCKLIST, KeyScope.BLOCKLIST_URLS})
    message = (
        "This endpoint needs a blocking-list API key (create_api_key --partner NAME --blocklist hashes)."
    )


class IsInboundMail(_ScopePermission):
    scopes = frozenset({KeyScope.INBOUND})
    message = "This endpoint needs an inbound-mail API key (create_api_key --user NAME --inbound-mail)."


class _RolePermission(permissions.BasePermission):
    """A key owned by a staff user (scopes user and inbound) acts with that user's role (README "Roles"): the
    request needs the model permission `<app>.<action>_<model>` on the view's `role_model`, the action
    `view` for reads (GET, HEAD, OPTIONS) and the class's `write_action` for anything else (None: the view
    only reads). A key of a user without the permission — no role, or a role without it — gets 403.
    Partner and provider keys belong to no user: their scope permission alone decides."""

    write_action: str | None = None
    message = "The role of this API key's user does not allow this request."

    def has_permission(self, request, view) -> bool:
        principal = request.user
        if not isinstance(principal, ApiPrincipal) or principal.user is None:
            return True
        if not hasattr(view, request.method.lower()):
            return True  # no such method here: the view answers 405
        action = "view" if request.method in permissions.SAFE_METHODS else self.write_action
        model = getattr(view, "role_model", None)
        if action is None or model is None:
            return False
        return principal.user.has_perm(f"{model._meta.app_label}.{action}_{model._meta.model_name}")


class CanView(_RolePermission):
    """Reads only: `view_<model>`."""


class CanAdd(_RolePermission):
    """Reads need `view_<model>`; a POST creates, and needs `add_<model>`."""

    write_action = "add"


class CanChange(_RolePermission):
    """Reads need `view_<model>`; a POST acts on an existing object (assess, trace, send): `change_…`."""

    write_action = "change"


class KeyRateThrottle(throttling.BaseThrottle):
    """The limits for views that do not authenticate with a key (the schema and docs): their requests count
    in the client address's bucket. Requests the key authentication saw were counted there already."""

    wait_seconds: int | None = None

    def allow_request(self, request, view) -> bool:
        if getattr(request, COUNTED, False):
            return True
        now = time.time()
        address = _address_bucket(request)
        verdict = ratelimit.remembered(address, now=now) or ratelimit.count(
            address, settings.API_ANON_THROTTLE_RATE, now=now
        )
        self.wait_seconds = verdict.retry_after or None
        return verdict.allowed

    def wait(self) -> int | None:
        return self.wait_seconds
