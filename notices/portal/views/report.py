"""The public report form at `/report/` (no login; README "Public report form").

GET shows the form in the visitor's language (cookie or Accept-Language; en, de, nl, fr). POST counts one
request of the client address (IPv6: its /64) against PUBLIC_REPORT_RATE in the shared counters
(notices.infra.ratelimit) — 429 with Retry-After beyond it — then validates: problems are listed at the top
and at their field (400), nothing is recorded. A valid report goes through the intake service like any other,
marked channel `public` (the analysts' *reported via* filter), and the page shows its receipt. Nothing is
fetched from the reported URL, and the answer does not show it.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from notices.enums import ReportChannel
from notices.infra import ratelimit
from notices.infra.clients import client_ip, client_key
from notices.portal.report_form import PublicReportForm
from notices.services.intake import ReportInput, submit_report

TEMPLATE = "notices/public/report.html"


@never_cache
@require_http_methods(["GET", "POST"])
def report_form(request: HttpRequest) -> HttpResponse:
    now = time.time()
    if request.method == "GET":
        return render(request, TEMPLATE, {"form": PublicReportForm(now=now)})
    verdict = _count(request, now)
    if not verdict.allowed:
        return _too_many(request, verdict.retry_after, now)
    form = PublicReportForm(request.POST, now=now)
    if not form.is_valid():
        form.renew_stamp()
        return render(request, TEMPLATE, {"form": form}, status=400)
    data = form.cleaned_data
    result = submit_report(
        item=ReportInput(
            url=data["url"], notes=data["notes"], reporter_email=data["email"], canonical=form.canonical
        ),
        now=timezone.now(),
        channel=ReportChannel.PUBLIC,
    )
    return render(request, "notices/public/received.html", {"receipt": result.receipt})


def _count(request: HttpRequest, now: float) -> ratelimit.Verdict:
    bucket = "report-form:" + client_key(client_ip(request))
    return ratelimit.remembered(bucket, now=now) or ratelimit.count(
        bucket, settings.PUBLIC_REPORT_RATE, now=now
    )


def _too_many(request: HttpRequest, retry_after: int, now: float) -> HttpResponse:
    """The 429 page: the form again with what was typed (not validated, nothing recorded) and the wait."""
    minutes = max(1, math.ceil(retry_after / 60))
    typed = {name: request.POST.get(name, "") for name in ("url", "notes", "email")}
    message = ngettext(
        "Too many reports from your network. Please try again in %(minutes)d minute.",
        "Too many reports from your network. Please try again in %(minutes)d minutes.",
        minutes,
    )
    context = {"form": PublicReportForm(now=now, initial=typed), "refusal": message % {"minutes": minutes}}
    response = render(request, TEMPLATE, context, status=429)
    response["Retry-After"] = str(retry_after)
    return response
