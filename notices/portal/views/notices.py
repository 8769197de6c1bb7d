"""Notice list, notice page, responses, downloads and one-click links.

Every notice comes from `scoped_notices` (the one door); another provider's notice is a 404 exactly like one
that does not exist. Every view of a notice, download and response writes an audit row. URLs are shown
defanged; the exact URL is only behind the copy button and in the downloads (never a link, never fetched).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from notices.canonical import defang
from notices.delivery.compose import notice_csv, notice_items, notice_reports, one_click_signer
from notices.enums import ItemStatus, NoticeStatus, ResponseAction
from notices.errors import NoticeError
from notices.infra.events import actor_label, audit
from notices.models import Check, Notice, ProviderResponse
from notices.portal import forms
from notices.portal.access import provider_language, provider_locale, provider_required, scoped_notices
from notices.selectors.notices import NEVER_DELIVERED, withdrawal_reason
from notices.selectors.portal import ListFilters, notice_list_page
from notices.selectors.representations import item_withdrawn, reminders
from notices.services import sor
from notices.services.responses import RESPONDABLE, record_response
from notices.services.threads import notice_thread

CHECKS_PER_URL = 10
RESPONSE_FORMS = {
    ResponseAction.ACKNOWLEDGE: None,
    ResponseAction.REMOVED: forms.RemovedForm,
    ResponseAction.NOT_OUR_CUSTOMER: forms.NotOurCustomerForm,
    ResponseAction.NEED_INFO: forms.MessageForm,
    ResponseAction.REFUSED: forms.RefuseForm,
}


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _audit(request: HttpRequest, action: str, notice: Notice, **data) -> None:
    audit(actor=actor_label(user=request.user), action=action, obj=notice, ip=_ip(request), data=data or None)


# --- List ---------------------------------------------------------------------------------------------------


@provider_required
@require_GET
def notice_list(request: HttpRequest) -> HttpResponse:
    form = forms.ListFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    filters = ListFilters(**{k: v for k, v in data.items() if v})
    listing = notice_list_page(
        request.provider, filters, page=request.GET.get("page", 1), page_size=settings.PORTAL_PAGE_SIZE
    )
    now = timezone.now()
    rows = [
        {
            "notice": n,
            "counts": listing.url_counts.get(n.pk, {"urls": 0, "live": 0, "verifying": 0}),
            "due": _due(n, now),
        }
        for n in listing.page.object_list
    ]
    audit(
        actor=actor_label(user=request.user),
        action="notice.list",
        obj=request.provider,
        ip=_ip(request),
        data={"references": [n.reference for n in listing.page.object_list]},
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "notices/portal/list.html",
        {
            "rows": rows,
            "page": listing.page,
            "counts": listing.counts,
            "filters": filters,
            "form": form,
            "query": query.urlencode(),
            "provider": request.provider,
        },
    )


def _due(notice: Notice, now: datetime) -> dict | None:
    """The deadline as the list shows it: time left (or overdue) for notices still open."""
    if not notice.deadline_at or notice.status not in RESPONDABLE:
        return None
    left = notice.deadline_at - now
    return {
        "overdue": left < timedelta(0),
        "span": _span(abs(left)),
        "soon": timedelta(0) <= left < timedelta(hours=4),
    }


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    return _("%(m)d min") % {"m": minutes}


# --- Notice page --------------------------------------------------------------------------------------------


@provider_required
@require_http_methods(["GET", "POST"])
def notice_detail(request: HttpRequest, reference: str) -> HttpResponse:
    """The notice page. A POST with `action` answers it, as the per-action URLs do (older links and
    scripts)."""
    notice = get_object_or_404(scoped_notices(request), reference=reference)
    if request.method == "POST":
        return _respond(request, notice, request.POST.get("action", ""))
    _audit(request, "notice.view", notice)
    return _notice_page(request, notice, {})


def _notice_page(request: HttpRequest, notice: Notice, bound: dict, status: int = 200) -> HttpResponse:
    items = list(notice.items.select_related("url__current_assessment").order_by("url_id"))
    history = _check_history([item.url_id for item in items])
    rows = [
        {
            "item": item,
            "purged": item.url.purged_at is not None,
            "defanged": defang(item.url.canonical),
            "exact": item.url.canonical,
            "checks": history.get(item.url_id, []),
            "withdrawn": item_withdrawn(item),
        }
        for item in items
    ]
    responses = list(
        notice.responses.select_related("user", "api_key").prefetch_related("urls").order_by("-created_at")
    )
    forms_ = _response_forms(request, notice, items, bound)
    return render(
        request,
        "notices/portal/detail.html",
        {
            "notice": notice,
            "rows": rows,
            "forms": forms_,
            "provider": request.provider,
            "can_respond": notice.status in RESPONDABLE,
            "responses": responses,
            "thread": notice_thread(notice),
            "verifying": any(item.status == ItemStatus.REPORTED_REMOVED for item in items),
            "has_statements": any(
                r.action == ResponseAction.REMOVED and r.statement_of_reasons for r in responses
            ),
            "open_action": next(iter(bound), ""),
            "due": _due(notice, timezone.now()),
            "reminders": reminders(notice),
            "status_payload": json.dumps(_status_payload(items)),
            "withdrawal_reason": withdrawal_reason(notice),
        },
        status=status,
    )


def _check_history(url_ids: list[int]) -> dict[int, list[Check]]:
    """The latest CHECKS_PER_URL checks of each URL in one query (row_number per URL)."""
    checks = (
        Check.objects.filter(url_id__in=url_ids)
        .annotate(n=Window(RowNumber(), partition_by=[F("url_id")], order_by=F("checked_at").desc()))
        .filter(n__lte=CHECKS_PER_URL)
        .order_by("url_id", "-checked_at")
    )
    history: dict[int, list[Check]] = {}
    for check in checks:
        history.setdefault(check.url_id, []).append(check)
    return history


# The response forms share one page: each has its own id prefix, so a label, and a link in the error summary,
# reaches its own field.
FORM_IDS = {
    ResponseAction.REMOVED: "id_%s",
    ResponseAction.NOT_OUR_CUSTOMER: "id_noc_%s",
    ResponseAction.NEED_INFO: "id_ask_%s",
    ResponseAction.REFUSED: "id_refuse_%s",
}


def _response_form(action: str, data=None, **kwargs):
    return RESPONSE_FORMS[action](data, auto_id=FORM_IDS[action], **kwargs)


def _response_forms(request, notice: Notice, items, bound: dict) -> dict:
    choices = [(str(item.url_id), defang(item.url.canonical)) for item in items if item.is_open]
    result = {
        ResponseAction.REMOVED: _response_form(
            ResponseAction.REMOVED, url_choices=choices, initial=_removed_initial(notice, items)
        ),
        ResponseAction.NOT_OUR_CUSTOMER: _response_form(ResponseAction.NOT_OUR_CUSTOMER),
        ResponseAction.NEED_INFO: _response_form(ResponseAction.NEED_INFO),
        ResponseAction.REFUSED: _response_form(ResponseAction.REFUSED),
    }
    result.update(bound)
    return {str(action): form for action, form in result.items()}


def _removed_initial(notice: Notice, items) -> dict:
    """The "removed" form as it opens: every open URL ticked, the default statement of reasons prefilled
    (check it, change what differs). The same statement a one-click "removed" stores."""
    return {
        "urls": [str(item.url_id) for item in items if item.is_open],
        **sor.default_statement(notice, items),
    }


# --- Responses ----------------------------------------------------------------------------------------------


@provider_required
@require_POST
def notice_respond(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    notice = get_object_or_404(scoped_notices(request), reference=reference)
    return _respond(request, notice, action)


def _respond(request: HttpRequest, notice: Notice, action: str) -> HttpResponse:
    """Validate the action's form, record the response through `record_response`, audit, redirect. A
    withdrawn notice takes no answer."""
    if action not in RESPONSE_FORMS:
        raise Http404
    if notice.status == NoticeStatus.WITHDRAWN:
        messages.error(request, _("The hotline withdrew this notice; no answer is needed."))
        return redirect("portal:notice", reference=notice.reference)
    form_class = RESPONSE_FORMS[action]
    form = None
    if form_class is not None:
        choices = [(str(i.url_id), "") for i in notice.items.filter(is_open=True)]
        kwargs = {"url_choices": choices} if form_class is forms.RemovedForm else {}
        form = _response_form(action, request.POST, **kwargs)
        if not form.is_valid():
            _audit(request, "notice.view", notice)
            return _notice_page(request, notice, {action: form}, status=400)
    data = form.cleaned_data if form else {}
    try:
        record_response(
            notice=notice,
            action=action,
            now=timezone.now(),
            user=request.user,
            url_ids=[int(pk) for pk in data.get("urls", [])] or None,
            message=data.get("message", ""),
            statement_of_reasons=form.statement() if isinstance(form, forms.RemovedForm) else None,
            suggested_provider=data.get("suggested_provider", ""),
        )
    except NoticeError as exc:
        return _refused(request, notice, action, form, exc)
    _audit(request, f"notice.respond.{action}", notice)
    messages.success(request, _confirmation(action))
    return redirect("portal:notice", reference=notice.reference)


def _refused(request, notice: Notice, action: str, form, exc: NoticeError) -> HttpResponse:
    """Show the service's objections on the form they came from (statement fields by name)."""
    for field, problems in exc.errors.items():
        if field == "statement_of_reasons" and form is not None:
            for name, texts in problems.items():
                form.add_error(name if name in form.fields else None, texts)
        elif form is not None and field in form.fields:
            form.add_error(field, problems)
        else:
            messages.error(request, " ".join(problems))
    if form is None or not form.errors:
        return redirect("portal:notice", reference=notice.reference)
    _audit(request, "notice.view", notice)
    return _notice_page(request, notice, {action: form}, status=400)


def _confirmation(action: str) -> str:
    if action == ResponseAction.REMOVED:
        return _("Thank you. We are checking the URLs now; the result appears on this page within a minute.")
    if action == ResponseAction.NEED_INFO:
        return _("Your question has been sent to the hotline. Their answer will appear on this page.")
    if action == ResponseAction.NOT_OUR_CUSTOMER:
        return _("Thank you. The hotline will trace the hosting again.")
    return _("Thank you, your response has been recorded.")


@provider_required
@require_GET
def notice_status(request: HttpRequest, reference: str) -> JsonResponse:
    """Item states and latest check outcomes (no URLs), polled by the page while a removal is verified.

    Not audited: it shows nothing the audited notice page did not, and a poll every few seconds would bury
    the audit log; the page reloads itself (an audited view) when something changed.
    """
    notice = get_object_or_404(scoped_notices(request), reference=reference)
    return JsonResponse(_status_payload(notice.items.select_related("url").order_by("url_id")))


def _status_payload(items) -> dict:
    """What the verification poll compares: the page embeds the same payload, so any change reloads it."""
    return {
        "items": [
            {
                "url_id": i.url_id,
                "status": i.status,
                "last_outcome": i.url.last_outcome,
                "last_checked_at": i.url.last_checked_at.isoformat() if i.url.last_checked_at else None,
            }
            for i in items
        ]
    }


# --- Downloads ----------------------------------------------------------------------------------------------


def _attachment(content: str, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _reports(notice: Notice) -> list:
    """What the downloads hold: the notice's URLs, less those the retention purge removed (nothing is left
    of them to send)."""
    items = [item for item in notice_items(notice) if item.url.purged_at is None]
    return notice_reports(notice, now=notice.sent_at or timezone.now(), items=items)


@provider_required
@require_GET
def download_xarf(request: HttpRequest, reference: str, url_id: int | None = None) -> HttpResponse:
    """The notice's X-ARF reports (all as a JSON list, or one URL's) — built here, never fetched."""
    notice = get_object_or_404(scoped_notices(request), reference=reference)
    reports = _reports(notice)
    if url_id is not None:
        reports = [r for r in reports if r[1].url_id == url_id]
        if not reports:
            raise Http404
        _audit(request, "notice.export", notice, format="xarf", url_id=url_id)
        return _attachment(
            json.dumps(reports[0][2], indent=2),
            f"xarf-{notice.reference}-{reports[0][0]}.json",
            "application/json",
        )
    _audit(request, "notice.export", notice, format="xarf")
    return _attachment(
        json.dumps([r[2] for r in reports], indent=2), f"xarf-{notice.reference}.json", "application/json"
    )


@provider_required
@require_GET
def download_csv(request: HttpRequest, reference: str) -> HttpResponse:
    notice = get_object_or_404(scoped_notices(request), reference=reference)
    _audit(request, "notice.export", notice, format="csv")
    reports = _reports(notice)
    return _attachment(notice_csv(notice, reports), f"urls-{notice.reference}.csv", "text/csv; charset=utf-8")


@provider_required
@require_GET
def download_statements(request: HttpRequest, reference: str) -> HttpResponse:
    """The statements of reasons given with removals, as the DSA Transparency Database's multi endpoint
    takes."""
    notice = get_object_or_404(scoped_notices(request), reference=reference)
    _audit(request, "notice.export", notice, format="statements")
    responses = ProviderResponse.objects.filter(notice=notice, action=ResponseAction.REMOVED).select_related(
        "notice"
    )
    return _attachment(
        json.dumps(sor.export_statements(responses.order_by("pk")), indent=2),
        f"statements-{notice.reference}.json",
        "application/json",
    )


# --- One-click links ----------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def one_click(request: HttpRequest, token: str) -> HttpResponse:
    """A signed link from the notice mail. GET only shows a confirmation page (mail scanners pre-fetch links);
    the POST from that page acts. Links expire (ONE_CLICK_LINK_MAX_AGE) and name one notice and one action."""
    try:
        data = one_click_signer().unsign_object(token, max_age=settings.ONE_CLICK_LINK_MAX_AGE)
    except signing.SignatureExpired:
        return _one_click_page(request, {"error": _("This link has expired.")}, status=410)
    except signing.BadSignature:
        return _one_click_page(request, {"error": _("This link is not valid.")}, status=404)
    notice = (
        Notice.objects.exclude(status__in=["draft", "queued"])
        .exclude(NEVER_DELIVERED)
        .filter(reference=data.get("n"))
        .first()
    )
    action = data.get("a")
    if notice is None or action not in {ResponseAction.ACKNOWLEDGE, ResponseAction.REMOVED}:
        return _one_click_page(request, {"error": _("This link is not valid.")}, status=404)
    actor = f"one-click:{notice.provider.slug}"
    context = {"notice": notice, "action": action, "language": provider_language(notice.provider)}
    if notice.status == NoticeStatus.WITHDRAWN:  # the link answers that, and acts on nothing
        audit(
            actor=actor, action="notice.one_click.open", obj=notice, ip=_ip(request), data={"action": action}
        )
        context["withdrawal_reason"] = withdrawal_reason(notice)
        return _one_click_page(request, context, status=409 if request.method == "POST" else 200)
    if request.method == "POST":
        with provider_locale(context["language"], notice.provider):  # the statement as the portal writes it
            statement = sor.default_statement(notice) if action == ResponseAction.REMOVED else None
        try:
            record_response(
                notice=notice, action=action, now=timezone.now(), user=None, statement_of_reasons=statement
            )
        except NoticeError as exc:
            return _one_click_page(
                request, {**context, "error": " ".join(next(iter(exc.errors.values())))}, 409
            )
        audit(actor=actor, action=f"notice.respond.{action}", obj=notice, ip=_ip(request))
        return _one_click_page(request, {**context, "done": True})
    audit(actor=actor, action="notice.one_click.open", obj=notice, ip=_ip(request), data={"action": action})
    return _one_click_page(request, context)


def _one_click_page(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    if "notice" not in context:
        return render(request, "notices/portal/one_click.html", context, status=status)
    with provider_locale(context["language"], context["notice"].provider):
        return render(request, "notices/portal/one_click.html", context, status=status)
