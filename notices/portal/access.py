"""The portal's one door: which provider the signed-in user belongs to, and its notices."""

from __future__ import annotations

from functools import wraps
from zoneinfo import ZoneInfo

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils import timezone

from notices.models import HostingProvider, Notice
from notices.selectors.notices import notices_for_provider


def provider_of(user) -> HostingProvider | None:
    membership = getattr(user, "provider_membership", None) if user.is_authenticated else None
    return membership.provider if membership else None


def provider_required(view):
    """Signed-in provider users only; everyone else is sent to the login page (staff get a 403)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        provider = provider_of(request.user)
        if provider is None:
            raise PermissionDenied("This account does not belong to a hosting provider.")
        request.provider = provider
        with timezone.override(ZoneInfo(provider.time_zone or "UTC")):  # times in the provider's zone
            return view(request, *args, **kwargs)

    return wrapper


def scoped_notices(request) -> QuerySet[Notice]:
    return notices_for_provider(request.provider)
