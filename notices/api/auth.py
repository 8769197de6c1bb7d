"""Bearer-key authentication, scope permissions and per-key throttling."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from notices.enums import KeyScope
from notices.models import ApiKey
from notices.services.keys import find_api_key


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


class BearerKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid Authorization header: use 'Bearer KEY'.")
        try:
            plaintext = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid API key.") from None
        key = find_api_key(plaintext)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)  # at most once a minute per key
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


class IsInboundMail(_ScopePermission):
    scopes = frozenset({KeyScope.INBOUND})
    message = "This endpoint needs an inbound-mail API key (create_api_key --user NAME --inbound-mail)."


class KeyRateThrottle(throttling.SimpleRateThrottle):
    """Requests per key (per client address when unauthenticated)."""

    scope = "key"

    def get_cache_key(self, request, view):
        principal = request.user
        ident = principal.key.prefix if isinstance(principal, ApiPrincipal) else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
