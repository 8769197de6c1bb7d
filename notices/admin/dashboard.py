"""The analyst dashboard (`/admin/dashboard/`): what needs doing, and how fast providers remove content; the
EU member states; the figures of a year (`?year=YYYY`)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils import timezone

from notices.admin.forms import TransparencyForm, TrustedFlaggerForm, YearForm
from notices.enums import NoticeType
from notices.infra.events import audit_request
from notices.models import HostingProvider
from notices.selectors.dashboard import (
    consistent_statistics,
    distribution_chart,
    member_state_chart,
    provider_rows,
    queue_counts,
    recent_events,
    recidivism,
    survival_chart,
    trend_chart,
)
from notices.selectors.flagger import GROUPS, flagger_csv, trusted_flagger_report
from notices.selectors.reports import provider_scorecard, report_csv, transparency_report, yearly_figures
from notices.selectors.stats import distribution

PROVIDERS_SHOWN = 20  # the slowest; `?providers=all` shows every provider


@staff_member_required
@permission_required("notices.view_statssnapshot", raise_exception=True)  # every role reads statistics
def dashboard_view(request):
    """The counts are live; each statistics table says as of when it is and whether it was computed live or
    served from the snapshot (which is served only while it includes every removal, reappearance and
    notice). The year's figures are computed live."""
    now = timezone.now()
    stats, member_states, months, overall = consistent_statistics(now=now)
    providers = provider_rows(now=now, stats=stats)
    show_all = request.GET.get("providers") == "all"
    (everything,) = overall["groups"] or [None]
    form = YearForm(request.GET or None, now=now)
    year = form.cleaned_data["year"] if form.is_valid() else now.year
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "counts": queue_counts(now=now),
        "providers": providers,
        "providers_shown": providers if show_all else providers[:PROVIDERS_SHOWN],
        "providers_hidden": not show_all and len(providers) > PROVIDERS_SHOWN,
        "stats_source": stats["source"],
        "stats_as_of": stats["as_of"],
        "stats_age": stats["age_seconds"],
        "member_states": member_states,
        "chart": member_state_chart(member_states["groups"]),
        "months": months,
        "trend": trend_chart(months["groups"]) if months["groups"] else None,
        "overall": overall,
        "everything": everything,
        "survival": survival_chart(everything),
        "distribution": distribution_chart(distribution(now=now)),
        "recidivism": recidivism(stats["groups"]),
        "now": now,
        "year_form": form,
        "yearly": yearly_figures(year=year, now=now),
        "events": recent_events(),
    }
    return TemplateResponse(request, "admin/notices/dashboard.html", context)


@staff_member_required
@permission_required("notices.view_statssnapshot", raise_exception=True)
def transparency_view(request):
    """The transparency report of a year (`?year=YYYY`): a printable page, or `format=csv|json` to download.
    No URLs, no personal data. Each export (every format) writes an audit row."""
    now = timezone.now()
    form = TransparencyForm(request.GET or None, now=now)
    if request.GET and not form.is_valid():
        return HttpResponseBadRequest(" ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    year = (form.cleaned_data["year"] if form.is_bound else None) or now.year
    fmt = (form.cleaned_data.get("format") if form.is_bound else "") or "html"
    report = transparency_report(year=year, now=now)
    audit_request(
        request, action="stats.transparency_export", object_type="stats", data={"year": year, "format": fmt}
    )
    if fmt == "csv":
        response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
    elif fmt == "json":
        response = JsonResponse(report, json_dumps_params={"indent": 2})
    else:
        context = {
            **admin.site.each_context(request),
            "title": f"Transparency report {year}",
            "report": report,
        }
        context["year_form"] = form if form.is_bound else TransparencyForm(now=now)
        return TemplateResponse(request, "admin/notices/transparency.html", context)
    response["Content-Disposition"] = f'attachment; filename="transparency-{year}.{fmt}"'
    return response


@staff_member_required
@permission_required("notices.view_statssnapshot", raise_exception=True)
def scorecard_view(request, slug: str):
    """One provider's scorecard: its cases' time to removal, what is still up, how often content came back,
    how it answers notices. `?format=json`: the same figures as the scorecard API; any other parameter or
    format is a 400 naming it (none is silently ignored)."""
    unknown = sorted(set(request.GET) - {"format"})
    if unknown:
        return HttpResponseBadRequest(
            f"{unknown[0]}: not a parameter of the scorecard (it takes format=json)."
        )
    fmt = request.GET.get("format") or "html"
    if fmt not in ("html", "json"):
        return HttpResponseBadRequest("format: the scorecard is html (the page) or json.")
    provider = get_object_or_404(HostingProvider, slug=slug)
    card = provider_scorecard(provider=provider, now=timezone.now())
    if fmt == "json":
        return JsonResponse(card, json_dumps_params={"indent": 2})
    context = {**admin.site.each_context(request), "title": f"Scorecard: {provider.name}", "card": card}
    return TemplateResponse(request, "admin/notices/scorecard.html", context)


def _type_label(value: str) -> str:
    return str(NoticeType(value).label) if value in NoticeType.values else value


@staff_member_required
@permission_required("notices.view_statssnapshot", raise_exception=True)
def trusted_flagger_view(request):
    """The DSA Art. 22(3) trusted-flagger report of a year (`?year=YYYY`, `notice_type=trusted_flagger|all`):
    a printable page, or `format=csv|json`. No URLs, no personal data. Each export writes an audit row."""
    now = timezone.now()
    form = TrustedFlaggerForm(request.GET or None, now=now)
    if request.GET and not form.is_valid():
        return HttpResponseBadRequest(" ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    data = form.cleaned_data if form.is_bound else {}
    year = data.get("year") or now.year
    fmt = data.get("format") or "html"
    types = NoticeType.values if data.get("notice_type") == "all" else [NoticeType.TRUSTED_FLAGGER]
    report = trusted_flagger_report(year=year, now=now, notice_types=types)
    audit_request(
        request,
        action="stats.trusted_flagger_export",
        object_type="stats",
        data={"year": year, "format": fmt, "notice_types": report["notice_types"]},
    )
    if fmt == "csv":
        response = HttpResponse(flagger_csv(report), content_type="text/csv; charset=utf-8")
    elif fmt == "json":
        response = JsonResponse(report, json_dumps_params={"indent": 2})
    else:
        context = {
            **admin.site.each_context(request),
            "title": f"DSA Art. 22(3) trusted-flagger report {year}",
            "report": report,
            "groups": GROUPS,
            "type_labels": [_type_label(value) for value in report["notice_types"]],
            "query": f"year={year}&notice_type={data.get('notice_type') or 'trusted_flagger'}",
            "year_form": form if form.is_bound else TrustedFlaggerForm(now=now),
        }
        return TemplateResponse(request, "admin/notices/trusted_flagger.html", context)
    response["Content-Disposition"] = f'attachment; filename="dsa-art22-{year}.{fmt}"'
    return response
