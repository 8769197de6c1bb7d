"""The analyst dashboard (`/admin/dashboard/`): what needs doing, and how fast providers remove content."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.template.response import TemplateResponse
from django.utils import timezone

from notices.selectors.dashboard import provider_rows, queue_counts, recent_events
from notices.selectors.stats import time_to_removal


@staff_member_required
@permission_required("notices.view_statssnapshot", raise_exception=True)  # every role reads statistics
def dashboard_view(request):
    """The counts are live; the time-to-removal table says as of when it is and whether it was computed live
    or served from the snapshot (which is served only while it includes every removal, reappearance and
    notice)."""
    now = timezone.now()
    stats = time_to_removal(group_by="provider", now=now)
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "counts": queue_counts(now=now),
        "providers": provider_rows(now=now, stats=stats),
        "stats_source": stats["source"],
        "stats_as_of": stats["as_of"],
        "stats_age": stats["age_seconds"],
        "events": recent_events(),
    }
    return TemplateResponse(request, "admin/notices/dashboard.html", context)
