"""Portal pages: notice list, notice detail with responses, one-click links (GET confirms, POST acts)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from notices.canonical import defang
from notices.delivery.compose import ONE_CLICK_SALT
from notices.enums import ResponseAction
from notices.models import Notice
from notices.portal.access import provider_required, scoped_notices
from notices.services.events import actor_label, audit
from notices.services.notices import NoticeError
from notices.services.responses import RESPONDABLE, record_response


class ResponseForm(forms.Form):
    action = forms.ChoiceField(choices=ResponseAction.choices)
    message = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000)

    def clean(self):
        data = super().clean()
        if data.get("action") in {ResponseAction.REFUSED, ResponseAction.NEED_INFO} and not data.get(
            "message"
        ):
            self.add_error("message", "Please say why, or what you need.")
        return data


@provider_required
def notice_list(request: HttpRequest) -> HttpResponse:
    notices = (
        scoped_notices(request)
        .annotate(
            url_count=Count("items"), still_live=Count("items", filter=Q(items__url__last_outcome="live"))
        )
        .order_by("-id")[:200]
    )
    return render(request, "notices/portal/list.html", {"notices": notices, "provider": request.provider})


def _notice_page(request: HttpRequest, notice: Notice, form: ResponseForm) -> HttpResponse:
    items = notice.items.select_related("url").order_by("url_id")
    rows = [{"item": item, "defanged": defang(item.url.canonical),
             "checks": item.url.checks.order_by("-checked_at")[:5]} for item in items]  # fmt: skip
    return render(request, "notices/portal/detail.html",
                  {"notice": notice, "rows": rows, "form": form, "provider": request.provider,
                   "can_respond": notice.status in RESPONDABLE, "time_zone": request.provider.time_zone,
                   "responses": notice.responses.order_by("-created_at")})  # fmt: skip


@provider_required
@require_http_methods(["GET", "POST"])
def notice_detail(request: HttpRequest, reference: str) -> HttpResponse:
    notice = get_object_or_404(scoped_notices(request), reference=reference)
    if request.method == "GET":
        audit(
            actor=actor_label(user=request.user),
            action="notice.view",
            obj=notice,
            ip=request.META.get("REMOTE_ADDR"),
        )
        return _notice_page(request, notice, ResponseForm())
    form = ResponseForm(request.POST)
    if not form.is_valid():
        return _notice_page(request, notice, form)
    _respond(request, notice, form.cleaned_data["action"], form.cleaned_data["message"], user=request.user)
    return redirect("portal:notice", reference=notice.reference)


def _respond(request, notice, action, message, *, user=None, actor=None) -> None:
    try:
        record_response(notice=notice, action=action, now=timezone.now(), message=message, user=user)
    except NoticeError as exc:
        messages.error(request, next(iter(exc.errors.values()))[0])
        return
    audit(actor=actor or actor_label(user=user), action=f"notice.respond.{action}", obj=notice,
          ip=request.META.get("REMOTE_ADDR"))  # fmt: skip
    messages.success(request, _confirmation(action))


def _confirmation(action: str) -> str:
    if action == ResponseAction.REMOVED:
        return "Thank you. We are verifying the removal now; the result appears below within a minute."
    return "Thank you, your response has been recorded."


@require_http_methods(["GET", "POST"])
def one_click(request: HttpRequest, token: str) -> HttpResponse:
    """A signed link from the notice mail. GET only shows a confirmation page (mail scanners pre-fetch links);
    the POST from that page acts."""
    try:
        data = signing.loads(token, salt=ONE_CLICK_SALT, max_age=settings.ONE_CLICK_LINK_MAX_AGE)
    except signing.SignatureExpired:
        return render(
            request, "notices/portal/one_click.html", {"error": "This link has expired."}, status=410
        )
    except signing.BadSignature:
        return render(
            request, "notices/portal/one_click.html", {"error": "This link is not valid."}, status=404
        )
    notice = get_object_or_404(Notice.objects.exclude(status__in=["draft", "queued"]), reference=data["n"])
    action = data["a"]
    if action not in {ResponseAction.ACKNOWLEDGE, ResponseAction.REMOVED}:
        return render(
            request, "notices/portal/one_click.html", {"error": "This link is not valid."}, status=404
        )
    actor = f"one-click:{notice.provider.slug}"
    if request.method == "POST":
        request.provider = notice.provider
        _respond(request, notice, action, "", actor=actor)
        return render(
            request, "notices/portal/one_click.html", {"notice": notice, "action": action, "done": True}
        )
    audit(actor=actor, action="notice.one_click.open", obj=notice, ip=request.META.get("REMOTE_ADDR"))
    return render(request, "notices/portal/one_click.html", {"notice": notice, "action": action})
