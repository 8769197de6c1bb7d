"""The portal's one door: which provider the signed-in user belongs to, and its notices."""

from __future__ import annotations

from contextlib import contextmanager
from functools import wraps
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import QuerySet
from django.utils import timezone, translation

from notices.models import HostingProvider, Notice
from notices.selectors.notices import notices_for_provider

PORTAL_LANGUAGES = ("en", "de", "nl", "fr")


def provider_of(user) -> HostingProvider | None:
    membership = getattr(user, "provider_membership", None) if user.is_authenticated else None
    return membership.provider if membership else None


def portal_language(user, provider: HostingProvider) -> str:
    """The user's own choice, else the provider's language, else English (a stored value that is not a portal
    language counts as none)."""
    try:
        chosen = user.portal_account.language
    except (ObjectDoesNotExist, AttributeError):
        chosen = ""
    for language in (chosen, provider.language):
        if language in PORTAL_LANGUAGES:
            return language
    return "en"


def provider_language(provider: HostingProvider) -> str:
    """The provider's language if the portal speaks it, else English."""
    return provider.language if provider.language in PORTAL_LANGUAGES else "en"


def provider_zone(provider: HostingProvider) -> ZoneInfo:
    """The provider's time zone; UTC when the stored name is empty or not a time zone."""
    try:
        return ZoneInfo(provider.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        return ZoneInfo("UTC")


@contextmanager
def provider_locale(language: str, provider: HostingProvider):
    """Run in `language` and the provider's time zone (pages, default statements, dates)."""
    with translation.override(language), timezone.override(provider_zone(provider)):
        yield


def provider_required(view):
    """Signed-in provider users only; everyone else is sent to the login page (staff get a 403).

    Sets `request.provider` and `request.is_provider_admin`, and runs the view in the user's language and the
    provider's time zone.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        provider = provider_of(request.user)
        if provider is None:
            raise PermissionDenied("This account does not belong to a hosting provider.")
        request.provider = provider
        request.is_provider_admin = request.user.provider_membership.is_admin
        language = portal_language(request.user, provider)
        with provider_locale(language, provider):
            request.LANGUAGE_CODE = language
            return view(request, *args, **kwargs)

    return wrapper


def provider_admin_required(view):
    """Provider users marked admin: they manage colleagues, API keys and the webhook."""

    @provider_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.is_provider_admin:
            raise PermissionDenied("Only your organisation's portal admins can do this.")
        return view(request, *args, **kwargs)

    return wrapper


def scoped_notices(request) -> QuerySet[Notice]:
    return notices_for_provider(request.provider)
