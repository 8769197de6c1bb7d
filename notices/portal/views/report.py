"""The public report form at `/report/` (no login; README "Public report form").

GET shows the form in the visitor's language (cookie or Accept-Language; en, de, nl, fr). Two limits per
client address (IPv6: its /64) in the shared counters (notices.infra.ratelimit), each a 429 with Retry-After
beyond it: every POST counts against PUBLIC_REPORT_ATTEMPT_RATE; only a report that would be recorded (or a
form whose honeypot was filled) counts against PUBLIC_REPORT_RATE, so a person correcting a typo does not
spend their reports. Problems are listed at the top and at their field (400), nothing is recorded. A valid
report goes through the intake service like any other, marked channel `public` (the analysts' *reported via*
filter), and the page shows its receipt. Nothing is
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
    verdict = _count(request, "report-form-attempt:", settings.PUBLIC_REPORT_ATTEMPT_RATE, now)
    if not verdict.allowed:
        return _too_many(request, verdict.retry_after, now)
    form = PublicReportForm(request.POST, now=now)
    valid = form.is_valid()
    if valid or form.honeypot_filled:
        verdict = _count(request, "report-form:", settings.PUBLIC_REPORT_RATE, now)
        if not verdict.allowed:
            return _too_many(request, verdict.retry_after, now)
    if not valid:
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


def _count(request: HttpRequest, prefix: str, rate: str, now: float) -> ratelimit.Verdict:
    bucket = prefix + client_key(client_ip(request))
    return ratelimit.remembered(bucket, now=now) or ratelimit.count(bucket, rate, now=now)


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
