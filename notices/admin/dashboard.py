"""The analyst dashboard (`/admin/dashboard/`): what needs doing, and how fast providers remove content."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.template.response import TemplateResponse
from django.utils import timezone

from notices.selectors.dashboard import provider_rows, queue_counts, recent_events


@staff_member_required
def dashboard_view(request):
    now = timezone.now()
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "counts": queue_counts(now=now),
        "providers": provider_rows(now=now),
        "events": recent_events(),
    }
    return TemplateResponse(request, "admin/notices/dashboard.html", context)
