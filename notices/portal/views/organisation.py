"""The organisation pages for a provider's portal admins: colleagues and invitations, API keys, webhook."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from notices.delivery.webhooks import WebhookError, disable_webhooks, register_webhook
from notices.enums import KeyScope
from notices.infra.events import actor_label, audit
from notices.models import ApiKey, Invitation, ProviderMembership, WebhookDelivery, WebhookEndpoint
from notices.portal import forms
from notices.portal.access import provider_admin_required
from notices.services import portal_accounts as accounts
from notices.services.keys import create_api_key, revoke_api_key


def _audit(request: HttpRequest, action: str, obj, **data) -> None:
    audit(
        actor=actor_label(user=request.user),
        action=action,
        obj=obj,
        ip=request.META.get("REMOTE_ADDR"),
        data=data or None,
    )


# --- Colleagues ---------------------------------------------------------------------------------------------


def _team_page(request: HttpRequest, form, status: int = 200) -> HttpResponse:
    members = (
        ProviderMembership.objects.filter(provider=request.provider)
        .select_related("user")
        .order_by("user__username")
    )
    invitations = Invitation.objects.filter(
        provider=request.provider, accepted_at__isnull=True, revoked_at__isnull=True
    ).order_by("-created_at")
    return render(
        request,
        "notices/portal/team.html",
        {"members": members, "invitations": invitations, "form": form, "now": timezone.now()},
        status=status,
    )


@provider_admin_required
@require_http_methods(["GET", "POST"])
def team(request: HttpRequest) -> HttpResponse:
    form = forms.InviteForm(request.POST or None)
    if request.method == "GET":
        return _team_page(request, form)
    if form.is_valid():
        try:
            accounts.invite_user(
                provider=request.provider,
                email=form.cleaned_data["email"],
                is_admin=form.cleaned_data["is_admin"],
                invited_by=request.user,
                now=timezone.now(),
            )
        except accounts.AccountError as exc:
            form.add_error("email", str(exc))
        except OSError:
            form.add_error(None, _("The invitation could not be mailed. Please try again later."))
        else:
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]}
            )
            return redirect("portal:team")
    return _team_page(request, form, status=400)


@provider_admin_required
@require_POST
def revoke_invitation(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=pk, provider=request.provider)
    accounts.revoke_invitation(invitation=invitation, now=timezone.now())
    _audit(request, "portal.invitation_revoked", request.provider, email=invitation.email)
    messages.success(request, _("Invitation withdrawn."))
    return redirect("portal:team")


# --- API keys -----------------------------------------------------------------------------------------------


def _keys_page(request: HttpRequest, form, *, new_key: str = "", status: int = 200) -> HttpResponse:
    keys = ApiKey.objects.filter(provider=request.provider, scope=KeyScope.PROVIDER).order_by("-created_at")
    response = render(
        request, "notices/portal/keys.html", {"keys": keys, "form": form, "new_key": new_key}, status=status
    )
    response["Cache-Control"] = "no-store"  # the new key is on this page once
    return response


@never_cache
@provider_admin_required
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    """List the provider's keys; POST creates one and shows it on this response only (stored hashed)."""
    form = forms.ApiKeyForm(request.POST or None)
    if request.method == "GET":
        return _keys_page(request, form)
    if not form.is_valid():
        return _keys_page(request, form, status=400)
    key, plaintext = create_api_key(
        scope=KeyScope.PROVIDER, provider=request.provider, name=form.cleaned_data["name"]
    )
    _audit(request, "portal.api_key_created", request.provider, prefix=key.prefix)
    return _keys_page(request, forms.ApiKeyForm(), new_key=plaintext)


@provider_admin_required
@require_POST
def revoke_key(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(
        ApiKey, pk=pk, provider=request.provider, scope=KeyScope.PROVIDER, revoked_at__isnull=True
    )
    revoke_api_key(key=key)
    _audit(request, "portal.api_key_revoked", request.provider, prefix=key.prefix)
    messages.success(
        request,
        _("Key %(prefix)s… revoked. Requests with it are refused from now on.") % {"prefix": key.prefix},
    )
    return redirect("portal:keys")


# --- Webhook ------------------------------------------------------------------------------------------------


def _webhook_page(request: HttpRequest, form, *, secret: str = "", status: int = 200) -> HttpResponse:
    endpoint = WebhookEndpoint.objects.filter(provider=request.provider, is_active=True).first()
    deliveries = (
        WebhookDelivery.objects.filter(endpoint=endpoint).select_related("notice").order_by("-id")[:20]
        if endpoint
        else []
    )
    response = render(
        request,
        "notices/portal/webhook.html",
        {"endpoint": endpoint, "deliveries": deliveries, "form": form, "secret": secret},
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@provider_admin_required
@require_http_methods(["GET", "POST"])
def webhook(request: HttpRequest) -> HttpResponse:
    form = forms.WebhookForm(request.POST or None)
    if request.method == "GET":
        return _webhook_page(request, form)
    if form.is_valid():
        try:
            endpoint = register_webhook(
                provider=request.provider,
                url=form.cleaned_data["url"],
                created_by=request.user,
                now=timezone.now(),
            )
        except WebhookError as exc:
            form.add_error("url", _(str(exc)))
        else:
            _audit(request, "portal.webhook_set", request.provider, url=endpoint.url)
            return _webhook_page(request, forms.WebhookForm(), secret=endpoint.secret)
    return _webhook_page(request, form, status=400)


@provider_admin_required
@require_POST
def webhook_disable(request: HttpRequest) -> HttpResponse:
    disable_webhooks(provider=request.provider)
    _audit(request, "portal.webhook_off", request.provider)
    messages.success(request, _("The webhook is off. New notices reach you by e-mail and in the portal."))
    return redirect("portal:webhook")
