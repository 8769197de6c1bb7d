"""Sign-in (under the sign-in limits, TOTP step), password reset, invitations, the account page and
language."""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model, login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import formats, timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from notices.infra.clients import client_ip
from notices.portal import forms
from notices.portal.access import PORTAL_LANGUAGES, provider_language, provider_of, provider_required
from notices.services import portal_accounts as accounts
from notices.services import second_factor, signin

PENDING_USER = "portal_2fa_user"
PENDING_AT = "portal_2fa_at"
PENDING_NEXT = "portal_2fa_next"
PENDING_MAX_AGE = 300  # seconds between the password step and the code step
BACKEND = "django.contrib.auth.backends.ModelBackend"


def _ip(request: HttpRequest) -> str | None:
    return client_ip(request)


def _next(request: HttpRequest, default: str = "") -> str:
    """A path on this site to go to next (a bare word would be taken for a view name by `redirect`)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default or reverse("portal:notices")


def _refused(request: HttpRequest, template: str, context: dict, refused: signin.Refusal) -> HttpResponse:
    """The answer to an attempt the sign-in limits hold back: the same for every name (README "Sign-in
    limits"), with the time it may be made again."""
    local = formats.date_format(timezone.localtime(refused.until), "H:i:s T")
    context["error"] = _("Too many failed sign-ins. Please try again after %(time)s.") % {"time": local}
    response = render(request, template, context, status=refused.status)
    response["Retry-After"] = str(max(1, math.ceil((refused.until - timezone.now()).total_seconds())))
    return response


# --- Sign-in ------------------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Password step. Every name takes the same path: the limits count names as typed, and `authenticate`
    runs the password hasher for names nobody has too (Django's ModelBackend), so neither the answer nor its
    time tells whether an account exists."""
    if request.user.is_authenticated and provider_of(request.user):
        return redirect(_next(request))
    form = forms.LoginForm(request.POST or None)
    context = {"form": form, "next": _next(request, default="")}
    if request.method == "GET":
        return render(request, "notices/portal/login.html", context)
    if not form.is_valid():
        return render(request, "notices/portal/login.html", context, status=400)
    now, ip = timezone.now(), _ip(request)
    username, password = form.cleaned_data["username"], form.cleaned_data["password"]
    refused = signin.refusal(username=username, ip=ip, now=now)
    if refused:
        return _refused(request, "notices/portal/login.html", context, refused)
    user = authenticate(request, username=username, password=password)
    if user is None:
        signin.record_failure(username=username, ip=ip, now=now)
        context["error"] = _("The username or password is not right.")
        return render(request, "notices/portal/login.html", context, status=400)
    if provider_of(user) is None:
        signin.record_first_factor(user=user, ip=ip, now=now)
        context["error"] = _("This account cannot use the provider portal.")
        return render(request, "notices/portal/login.html", context, status=403)
    if accounts.account_of(user).totp_enabled:
        signin.record_first_factor(user=user, ip=ip, now=now)
        request.session.update(
            {PENDING_USER: user.pk, PENDING_AT: now.timestamp(), PENDING_NEXT: _next(request)}
        )
        return redirect("portal:verify")
    login(request, user, backend=BACKEND)
    signin.record_success(user=user, ip=ip, now=now)
    return redirect(_next(request))


def _pending_user(request: HttpRequest):
    pk, at = request.session.get(PENDING_USER), request.session.get(PENDING_AT, 0)
    if pk is None or timezone.now().timestamp() - at > PENDING_MAX_AGE:
        return None
    return get_user_model().objects.filter(pk=pk, is_active=True).first()


def _drop_pending(request: HttpRequest) -> None:
    for key in (PENDING_USER, PENDING_AT, PENDING_NEXT):
        request.session.pop(key, None)


@never_cache
@require_http_methods(["GET", "POST"])
def verify_view(request: HttpRequest) -> HttpResponse:
    """The second step for accounts with two-factor sign-in: a TOTP code, under the same limits as the
    password (a wrong code is a failure of that name from that client)."""
    user = _pending_user(request)
    if user is None:
        _drop_pending(request)
        return redirect("portal:login")
    form = forms.CodeForm(request.POST or None)
    context = {"form": form}
    if request.method == "GET":
        return render(request, "notices/portal/verify.html", context)
    invalid = _("That code is not valid. Check the time on your device and try again.")
    if not form.is_valid():
        context["error"] = invalid
        return render(request, "notices/portal/verify.html", context, status=400)
    now, ip = timezone.now(), _ip(request)
    refused = signin.refusal(username=user.get_username(), ip=ip, now=now)
    if refused:
        return _refused(request, "notices/portal/verify.html", context, refused)
    if accounts.verify_totp(accounts.account_of(user), form.cleaned_data["code"], now=now):
        target = request.session.get(PENDING_NEXT) or reverse("portal:notices")
        _drop_pending(request)
        login(request, user, backend=BACKEND)
        signin.record_success(user=user, ip=ip, now=now)
        return redirect(target)
    signin.record_failure(username=user.get_username(), ip=ip, now=now, user=user)
    context["error"] = invalid
    return render(request, "notices/portal/verify.html", context, status=400)


# --- Password reset (Django's views, our templates; a reset lets its client sign in again) ------------------


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "notices/portal/password_reset.html"
    email_template_name = "notices/portal/mail/password_reset.txt"
    subject_template_name = "notices/portal/mail/password_reset_subject.txt"
    success_url = reverse_lazy("portal:password_reset_done")
    extra_email_context = {"hotline": settings.HOTLINE_NAME}


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "notices/portal/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "notices/portal/password_reset_confirm.html"
    success_url = reverse_lazy("portal:password_reset_complete")

    def form_valid(self, form):
        # The link proves the mailbox: for the sign-in limits this client signed in with the account (its
        # failures are forgotten, and it counts as a client the owner uses).
        signin.record_success(user=form.user, ip=_ip(self.request), now=timezone.now())
        return super().form_valid(form)


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "notices/portal/password_reset_complete.html"


# --- Invitations --------------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation link: choose a username and set a password, then you are signed in."""
    invitation = accounts.find_invitation(token, now=timezone.now())
    if invitation is None:
        return render(request, "notices/portal/invitation.html", {"invalid": True}, status=404)
    with translation.override(
        provider_language(invitation.provider)
        if not request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        else translation.get_language()
    ):
        form = forms.AcceptInvitationForm(request.POST or None, initial={"username": invitation.email})
        if request.method == "POST" and form.is_valid():
            try:
                user = accounts.accept_invitation(
                    invitation=invitation,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password1"],
                    now=timezone.now(),
                )
            except accounts.AccountError as exc:
                form.add_error(None, str(exc))
            else:
                login(request, user, backend=BACKEND)
                messages.success(request, _("Welcome. Your account is ready."))
                return redirect("portal:notices")
        status = 400 if request.method == "POST" else 200
        return render(
            request, "notices/portal/invitation.html", {"form": form, "invitation": invitation}, status=status
        )


# --- Account page: two-factor sign-in -----------------------------------------------------------------------


@provider_required
@require_http_methods(["GET"])
def account_view(request: HttpRequest) -> HttpResponse:
    account = accounts.account_of(request.user)
    context = {
        "account": account,
        "provider": request.provider,
        "form": forms.CodeForm(),
        "languages": [(code, name) for code, name in settings.LANGUAGES if code in PORTAL_LANGUAGES],
    }
    if account.totp_secret and not account.totp_enabled:
        uri = accounts.totp_uri(account)
        context.update(
            totp_uri=uri,
            totp_secret=account.totp_secret,
            qr_svg=second_factor.qr_svg(uri),
        )
    return render(request, "notices/portal/account.html", context)


@provider_required
@require_POST
def totp_start(request: HttpRequest) -> HttpResponse:
    try:
        accounts.start_totp(request.user)
    except accounts.AccountError as exc:
        messages.error(request, str(exc))
    return redirect("portal:account")


def _totp_change(request: HttpRequest, change, success: str) -> HttpResponse:
    """Turn two-factor sign-in on or off: both need a current code from the authenticator app."""
    form = forms.CodeForm(request.POST)
    try:
        if not form.is_valid():
            raise accounts.AccountError(_("Enter the 6-digit code."))
        change(request.user, form.cleaned_data["code"], now=timezone.now())
    except accounts.AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, success)
    return redirect("portal:account")


@provider_required
@require_POST
def totp_confirm(request: HttpRequest) -> HttpResponse:
    return _totp_change(
        request,
        accounts.confirm_totp,
        _("Two-factor sign-in is on. From now on you will be asked for a code."),
    )


@provider_required
@require_POST
def totp_disable(request: HttpRequest) -> HttpResponse:
    return _totp_change(request, accounts.disable_totp, _("Two-factor sign-in is off."))


# --- Language -----------------------------------------------------------------------------------------------


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the portal language: kept on the account (all devices) and in a cookie (pages before
    sign-in)."""
    language = request.POST.get("language", "")
    response = redirect(_next(request))
    if language not in PORTAL_LANGUAGES:
        return response
    if provider_of(request.user):
        account = accounts.account_of(request.user)
        account.language = language
        account.save(update_fields=["language"])
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 86400,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
    )
    return response
