"""Staff sign-in (README "Staff sign-in"): the password, then a second factor — a code from the authenticator
app or a single-use recovery code — for every staff user, superusers too. A staff user without a factor sets
one up before any other staff page (enrolment: a QR code, the key as text, a first code; then the recovery
codes, shown once). Re-authentication (password and code again) guards changes of users, groups and API keys;
each staff user's own page renews the recovery codes.

Between the steps the session holds only PENDING (who gave the right password, when, where to go next): the
user is signed in (django.contrib.auth.login) after the second step, and staff_session marks the session then.
Every attempt goes through the sign-in limits (notices.services.signin): refused attempts answer with the
refusal's status, and a wrong user name gets the same answer as a wrong password.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import authenticate, get_user_model, login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from notices.admin import staff_session
from notices.admin.forms import EnrolmentForm, ReauthForm, StaffCodeForm, StaffLoginForm
from notices.infra.clients import client_ip
from notices.services import second_factor, signin

PENDING = "staff_sign_in_pending"
CODE_STEP_MAX_AGE = 300  # seconds from the password to the code
ENROLMENT_MAX_AGE = 900  # seconds from the password to the first code of a new factor (installing an app)
BACKEND = "django.contrib.auth.backends.ModelBackend"
WRONG_CREDENTIALS = "The username or password is not right. Both are case-sensitive."
WRONG_CODE = "That code is not valid. Check the time on your device, or use a recovery code."


def _ip(request: HttpRequest) -> str | None:
    """The client address the sign-in limits count (behind a trusted proxy, from X-Forwarded-For)."""
    return client_ip(request)


def _next(request: HttpRequest) -> str:
    """A path on this site to go to next; the admin index otherwise."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        target.startswith("/")
        and not target.startswith(reverse("admin:login"))
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return reverse("admin:index")


def _refused(request, template: str, context: dict, *, username: str, now, ip) -> TemplateResponse | None:
    """The page the sign-in limits answer with when they refuse this attempt (their status), or None."""
    refusal = signin.refusal(username=username, ip=ip, now=now)
    if refusal is None:
        return None
    if refusal.until:
        local = formats.date_format(timezone.localtime(refusal.until), "H:i T")
        message = f"Too many failed sign-ins. Try again after {local}."
    else:
        message = "Too many failed sign-ins. Please wait a few minutes and try again."
    context["form"].add_error(None, message)
    return _page(request, template, context, status=refusal.status)


def _page(request, template: str, context: dict, *, status: int = 200) -> TemplateResponse:
    return TemplateResponse(request, template, {**admin.site.each_context(request), **context}, status=status)


def reauth_redirect(request: HttpRequest) -> HttpResponse:
    """Off to the re-authentication page, and back to this page after it."""
    return redirect(f"{reverse('staff_reauth')}?{urlencode({'next': request.get_full_path()})}")


# --- Step 1: password ---------------------------------------------------------------------------------------


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _next(request)
    if request.user.is_authenticated and request.user.is_staff:  # the gate let this session through
        return redirect(next_url)
    form = StaffLoginForm(request.POST or None)
    context = {"form": form, "next": next_url, "app_path": request.get_full_path(), "title": "Log in"}
    if request.method == "GET":
        return _page(request, "admin/login.html", context)
    if not form.is_valid():
        return _page(request, "admin/login.html", context, status=400)
    now, ip, username = timezone.now(), _ip(request), form.cleaned_data["username"]
    if refused := _refused(request, "admin/login.html", context, username=username, now=now, ip=ip):
        return refused
    user = authenticate(request, username=username, password=form.cleaned_data["password"])
    if user is None or not user.is_staff:
        known = get_user_model().objects.filter(username=username).first()
        signin.record_failure(username=username, ip=ip, now=now, user=known)
        form.add_error(None, WRONG_CREDENTIALS)
        return _page(request, "admin/login.html", context, status=400)
    signin.record_first_factor(user=user, ip=ip, now=now)  # the second step is its own attempt
    enrol = not second_factor.has_factor(user)
    if enrol:
        second_factor.start_enrolment(user)
    request.session[PENDING] = {"user": user.pk, "at": now.timestamp(), "next": next_url, "enrol": enrol}
    return redirect("staff_enrol" if enrol else "staff_code")


def _pending(request: HttpRequest):
    """The user who gave the right password in this session (and still may sign in), and the step's state."""
    pending = request.session.get(PENDING)
    if request.user.is_staff or not isinstance(pending, dict):  # is_staff: signed in already (the gate)
        return None, {}
    max_age = ENROLMENT_MAX_AGE if pending["enrol"] else CODE_STEP_MAX_AGE
    if timezone.now().timestamp() - pending["at"] > max_age:
        return None, {}
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True, is_staff=True).first()
    return user, pending


def _sign_in(request: HttpRequest, user, *, now, ip) -> None:
    """Both steps passed: signed in, the session marked, the limits told."""
    request.session.pop(PENDING, None)
    login(request, user, backend=BACKEND)
    staff_session.mark_signed_in(request.session, user, now=now)
    signin.record_success(user=user, ip=ip, now=now)


def _back_to_login(request: HttpRequest) -> HttpResponse:
    """No pending sign-in (or too old): to the password step; a signed-in staff session to the admin."""
    request.session.pop(PENDING, None)
    if request.user.is_authenticated and request.user.is_staff:
        return redirect("admin:index")
    messages.info(request, "Please sign in again (the previous step took too long).")
    return redirect("admin:login")


# --- Step 2: the code ---------------------------------------------------------------------------------------


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def code_view(request: HttpRequest) -> HttpResponse:
    user, pending = _pending(request)
    if user is None:
        return _back_to_login(request)
    if pending["enrol"]:
        return redirect("staff_enrol")
    form = StaffCodeForm(request.POST or None)
    context = {"form": form, "pending_user": user, "title": "Second factor"}
    if request.method == "GET":
        return _page(request, "admin/staff_sign_in/code.html", context)
    now, ip = timezone.now(), _ip(request)
    if refused := _refused(
        request, "admin/staff_sign_in/code.html", context, username=user.get_username(), now=now, ip=ip
    ):
        return refused
    if form.is_valid() and second_factor.verify_code(user, form.cleaned_data["code"], now=now, ip=ip):
        _sign_in(request, user, now=now, ip=ip)
        return redirect(pending["next"])
    signin.record_failure(username=user.get_username(), ip=ip, now=now, user=user)
    form.add_error(None, WRONG_CODE)
    return _page(request, "admin/staff_sign_in/code.html", context, status=400)


# --- Enrolment on first sign-in -----------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def enrol_view(request: HttpRequest) -> HttpResponse:
    user, pending = _pending(request)
    if user is None:
        return _back_to_login(request)
    if not pending["enrol"]:
        return redirect("staff_code")
    account = second_factor.account_of(user)
    if account.totp_enabled:  # set up meanwhile (another tab): the code step it is
        request.session[PENDING] = {**pending, "enrol": False}
        return redirect("staff_code")
    if not account.totp_secret:  # reset meanwhile
        account = second_factor.start_enrolment(user)
    form = EnrolmentForm(request.POST or None)
    uri = second_factor.totp_uri(account, issuer=second_factor.STAFF_ISSUER)
    context = {
        "form": form,
        "pending_user": user,
        "title": "Set up your second factor",
        "secret": account.totp_secret,
        "uri": uri,
        "qr_svg": second_factor.qr_svg(uri),
    }
    if request.method == "GET":
        return _page(request, "admin/staff_sign_in/enrol.html", context)
    now, ip = timezone.now(), _ip(request)
    if refused := _refused(
        request, "admin/staff_sign_in/enrol.html", context, username=user.get_username(), now=now, ip=ip
    ):
        return refused
    try:
        if not form.is_valid():
            raise second_factor.FactorError("Enter the 6-digit code the app shows.")
        codes = second_factor.confirm_enrolment(user, form.cleaned_data["code"], now=now, ip=ip)
    except second_factor.FactorError as exc:
        signin.record_failure(username=user.get_username(), ip=ip, now=now, user=user)
        form.add_error(None, str(exc))
        return _page(request, "admin/staff_sign_in/enrol.html", context, status=400)
    _sign_in(request, user, now=now, ip=ip)
    return _page(
        request,
        "admin/staff_sign_in/recovery_codes.html",
        {"codes": codes, "next": pending["next"], "title": "Recovery codes"},
    )


# --- Re-authentication before changes of users, groups and keys ---------------------------------------------


@sensitive_post_parameters("password", "code")
@never_cache
@staff_member_required
@require_http_methods(["GET", "POST"])
def reauth_view(request: HttpRequest) -> HttpResponse:
    form = ReauthForm(request.POST or None)
    next_url = _next(request)
    context = {"form": form, "next": next_url, "title": "Confirm it is you"}
    if request.method == "GET":
        return _page(request, "admin/staff_sign_in/reauth.html", context)
    now, ip, username = timezone.now(), _ip(request), request.user.get_username()
    if refused := _refused(
        request, "admin/staff_sign_in/reauth.html", context, username=username, now=now, ip=ip
    ):
        return refused
    if form.is_valid():
        user = authenticate(request, username=username, password=form.cleaned_data["password"])
        if user == request.user and second_factor.verify_code(
            user, form.cleaned_data["code"], now=now, ip=ip
        ):
            staff_session.mark_reauthenticated(request.session, now=now)
            signin.record_success(user=user, ip=ip, now=now)
            return redirect(next_url)
    signin.record_failure(username=username, ip=ip, now=now, user=request.user)
    form.add_error(None, "The password or the code is not right.")
    return _page(request, "admin/staff_sign_in/reauth.html", context, status=400)


# --- The staff user's own second factor ---------------------------------------------------------------------


@never_cache
@staff_member_required
@require_http_methods(["GET", "POST"])
def second_factor_view(request: HttpRequest) -> HttpResponse:
    """How many recovery codes are left; new ones (after a re-authentication), shown once."""
    now = timezone.now()
    if request.method == "POST":
        if not staff_session.reauthenticated_recently(request.session, now=now):
            return reauth_redirect(request)
        codes = second_factor.renew_recovery_codes(request.user, now=now, ip=_ip(request))
        next_url = reverse("staff_second_factor")
        return _page(
            request,
            "admin/staff_sign_in/recovery_codes.html",
            {"codes": codes, "next": next_url, "title": "Recovery codes"},
        )
    account = second_factor.account_of(request.user)
    context = {
        "title": "Your second factor",
        "enabled_at": account.totp_enabled_at,
        "codes_left": second_factor.recovery_codes_left(request.user),
        "codes_total": second_factor.RECOVERY_CODE_COUNT,
    }
    return _page(request, "admin/staff_sign_in/second_factor.html", context)


urlpatterns = [
    path("login/", login_view),  # in place of the admin's own (tracker/urls.py puts these first)
    path("login/code/", code_view, name="staff_code"),
    path("login/enrol/", enrol_view, name="staff_enrol"),
    path("reauth/", reauth_view, name="staff_reauth"),
    path("second-factor/", second_factor_view, name="staff_second_factor"),
]
