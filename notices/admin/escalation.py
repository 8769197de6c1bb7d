"""Admin for escalation: the policies a supervisor edits, the runs of each step, referrals and their export,
and the analysts' alert queue.

A policy is an ordered ladder of steps; delays are written as a number and a unit (`24h`, `7d`, `90m`,
`30s`; `-2h` from a deadline reminds two hours before it). The alert queue lists the cases that need a human
— open and acknowledged alerts, oldest first, with their count in the title and the header — with
acknowledge and resolve actions; resolved ones stay, filtered out by default.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from notices.admin.common import (
    OfferedChoicesFilter,
    ReadOnlyInline,
    SystemRecordAdmin,
    TrackerModelAdmin,
    defanged,
)
from notices.enums import AlertStatus, StepAnchor
from notices.models import AnalystAlert, Escalation, EscalationPolicy, EscalationStep, Referral, StepRun
from notices.selectors.dashboard import open_alert_count
from notices.services.alerts import acknowledge_alerts, resolve_alerts
from notices.services.escalation.referrals import export_referrals

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(-)?\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$", re.IGNORECASE)


def duration_text(value: timedelta | None) -> str:
    """A delay as the form shows it: the largest unit that divides it (`24h` → `1d`, `90m`, `-2h`)."""
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    for unit in ("d", "h", "m"):
        if seconds and seconds % UNITS[unit] == 0:
            return f"{sign}{seconds // UNITS[unit]}{unit}"
    return f"{sign}{seconds}s"


class DurationText(forms.Field):
    """A delay typed as `24h`, `7d`, `90m`, `30s` (a leading minus: before)."""

    default_error_messages = {"invalid": "Write a number and a unit: 30s, 90m, 24h, 7d (or -2h)."}

    def prepare_value(self, value):
        return duration_text(value) if isinstance(value, timedelta) else value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        match = _DURATION.match(str(value))
        if match is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        sign, number, unit = match.groups()
        seconds = float(number) * UNITS[unit.lower()]
        return timedelta(seconds=-seconds if sign else seconds)


class StepForm(forms.ModelForm):
    delay = DurationText(help_text="E.g. 24h, 7d, 90m; from the deadline, -2h reminds before it.")
    repeat_every = DurationText(required=False, help_text="Blank: once.")

    class Meta:
        model = EscalationStep
        fields = ["position", "action", "anchor", "delay", "repeat_every", "repeat_times"]


class StepInline(admin.TabularInline):
    model = EscalationStep
    form = StepForm
    extra = 1
    ordering = ["position"]


def ladder_text(policy: EscalationPolicy) -> str:
    """The ladder in words: "1. 1d since the notice was sent, every 1d: Repeat the notice … · 2. …"."""
    parts = []
    for step in policy.steps.all():
        when = f"{duration_text(step.delay)} {StepAnchor(step.anchor).label}"
        if step.repeat_every:
            when += f", every {duration_text(step.repeat_every)}"
            when += f" ({step.repeat_times} times)" if step.repeat_times else ""
        parts.append(f"{step.position}. {when}: {step.get_action_display()}")
    return " · ".join(parts) or "no steps"


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(TrackerModelAdmin):
    list_display = ["name", "notice_type", "provider", "active", "ladder", "updated_at"]
    list_filter = ["notice_type", "active"]
    search_fields = ["name", "provider__name"]
    autocomplete_fields = ["provider"]
    inlines = [StepInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("provider").prefetch_related("steps")

    @admin.display(description="Ladder")
    def ladder(self, obj: EscalationPolicy) -> str:
        return ladder_text(obj)


class RunCaseInline(ReadOnlyInline, admin.TabularInline):
    model = Escalation
    fields = ["url_link", "level", "created_at"]
    readonly_fields = fields

    @admin.display(description="URL")
    def url_link(self, obj: Escalation) -> str:
        return defanged(obj.url.canonical)


@admin.register(StepRun)
class StepRunAdmin(SystemRecordAdmin):
    list_display = [
        "created_at",
        "notice",
        "action",
        "occurrence",
        "status",
        "target",
        "performed_at",
        "delivered_at",
        "attempts",
        "next_attempt_at",
    ]
    list_filter = ["action", "status"]
    search_fields = ["notice__reference"]
    readonly_fields = [f.name for f in StepRun._meta.fields]
    inlines = [RunCaseInline]
    show_full_result_count = False


@admin.register(Escalation)
class EscalationAdmin(SystemRecordAdmin):
    list_display = ["url", "notice", "run", "level", "reason", "created_at"]
    readonly_fields = ["url", "notice", "run", "level", "reason", "created_at"]
    show_full_result_count = False


@admin.register(Referral)
class ReferralAdmin(SystemRecordAdmin):
    list_display = ["pk", "authority", "country", "notice", "provider", "created_at", "exported_at"]
    list_filter = ["authority", "country", ("exported_at", admin.EmptyFieldListFilter)]
    search_fields = ["notice__reference"]
    readonly_fields = ["run", "authority", "country", "notice", "provider", "created_at", "exported_at"]
    exclude = ["urls"]  # exact URLs only in the export, never on a page
    actions = ["export_csv"]

    def has_export_permission(self, request) -> bool:
        """The export carries the exact URLs: for the roles that work referrals (change_referral)."""
        return request.user.has_perm("notices.change_referral")

    @admin.action(description="Export the referred URLs (CSV; marks them exported)", permissions=["export"])
    def export_csv(self, request, queryset):
        body = export_referrals(
            queryset,
            actor=f"user:{request.user.get_username()}",
            now=timezone.now(),
            ip=request.META.get("REMOTE_ADDR"),
        )
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="referrals-{timezone.now():%Y%m%d-%H%M%S}.csv"'
        )
        return response


class AlertStateFilter(OfferedChoicesFilter):
    """Needs a human (open or acknowledged) by default; resolved or all on request."""

    title, parameter_name = "state", "state"

    def lookups(self, request, model_admin):
        return [("pending", "Needs a human"), ("resolved", "Resolved"), ("all", "All")]

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": (self.value() or "pending") == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or "pending"
        if value == "pending":
            return queryset.exclude(status=AlertStatus.RESOLVED)
        if value == "resolved":
            return queryset.filter(status=AlertStatus.RESOLVED)
        return queryset


@admin.register(AnalystAlert)
class AnalystAlertAdmin(SystemRecordAdmin):
    list_display = [
        "created_at",
        "kind",
        "status",
        "summary",
        "case",
        "notice",
        "provider",
        "acknowledged_by",
    ]
    list_filter = [AlertStateFilter, "kind"]
    search_fields = ["summary", "notice__reference"]
    readonly_fields = [f.name for f in AnalystAlert._meta.fields if f.name != "key"]
    exclude = ["key"]
    ordering = ["created_at"]
    actions = ["acknowledge", "resolve"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("notice", "provider", "url", "acknowledged_by")

    def changelist_view(self, request, extra_context=None):
        title = f"Alerts needing a human: {open_alert_count()}"
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    @admin.display(description="Case")
    def case(self, obj: AnalystAlert) -> str:
        if obj.url_id is None:
            return "—"
        link = reverse("admin:notices_url_change", args=[obj.url_id])
        return format_html('<a href="{}">URL {}</a>', link, obj.url_id)

    def has_work_permission(self, request) -> bool:
        """Acknowledging and resolving alerts: the roles that work cases (change_analystalert)."""
        return request.user.has_perm("notices.change_analystalert")

    @admin.action(description="Acknowledge (I am on it)", permissions=["work"])
    def acknowledge(self, request, queryset) -> None:
        count = acknowledge_alerts(
            list(queryset.values_list("pk", flat=True)), user=request.user, now=timezone.now()
        )
        self.message_user(request, f"Acknowledged {count} alert(s).")

    @admin.action(description="Resolve (dealt with)", permissions=["work"])
    def resolve(self, request, queryset) -> None:
        count = resolve_alerts(
            list(queryset.values_list("pk", flat=True)), user=request.user, now=timezone.now()
        )
        self.message_user(request, f"Resolved {count} alert(s).", messages.SUCCESS)
