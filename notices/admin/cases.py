"""Admin for cases: URLs, reports, assessments, traces, checks, events."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from notices.admin.common import (
    AuditedReadsMixin,
    ReadOnlyInline,
    SystemRecordAdmin,
    TimelineInline,
    TrackerModelAdmin,
    badge,
    url_shown,
)
from notices.admin.forms import AssessmentForm, CloseCasesForm, HoldForm, ReportEntryForm
from notices.admin.hosting import override_view, trace_chain_html
from notices.admin.lifecycle import each, reason_step
from notices.admin.queue import URL_FILTERS, search_condition
from notices.enums import NoticeType, UrlStatus
from notices.errors import NoticeError
from notices.infra import enqueue
from notices.infra.events import audit_request
from notices.models import Assessment, Check, Escalation, Event, HostingTrace, Partner, Report, Url
from notices.services import urls
from notices.services.assessment import AssessmentError, assess_url
from notices.services.holds import request_hold
from notices.services.intake import ReportInput, submit_reports
from notices.services.lifecycle import close_case, reopen_case
from notices.services.notices import create_notices
from notices.services.routing import hand_off, handoff_partner, hosting_country, refer_to_law_enforcement
from notices.templatetags.tracker import seconds


class ReportInline(ReadOnlyInline, admin.TabularInline):
    model = Report
    fields = ["receipt", "partner", "reported_at", "received_at", "external_ref", "duplicate"]
    readonly_fields = fields


class AssessmentInline(ReadOnlyInline, admin.TabularInline):
    model = Assessment
    fields = ["created_at", "analyst", "legality", "classification", "detection_method", "severity", "notes"]
    readonly_fields = fields


class TraceInline(ReadOnlyInline, admin.TabularInline):
    model = HostingTrace
    fields = [
        "traced_at",
        "ip",
        "prefix",
        "asn",
        "provider",
        "country",
        "intermediary",
        "origin_unknown",
        "abuse_emails",
        "error",
        "is_hop",
    ]
    readonly_fields = fields
    ordering = ["-traced_at"]


class CheckInline(ReadOnlyInline, admin.TabularInline):
    model = Check
    fields = ["checked_at", "outcome", "status_code", "error_class", "resolved_ip", "elapsed_ms", "vantage"]
    readonly_fields = fields
    ordering = ["-checked_at"]


class EventInline(TimelineInline):
    """The case's timeline, each event in words (escalation steps and their deliveries included)."""

    fields = ["at", "kind", "what", "actor"]
    readonly_fields = fields


class EscalationInline(ReadOnlyInline, admin.TabularInline):
    """The steps the case took, per notice, with where each stands (queued, delivered, failed …)."""

    model = Escalation
    fields = ["created_at", "notice", "level", "step", "status", "delivery", "reason"]
    readonly_fields = fields
    ordering = ["created_at", "pk"]
    verbose_name_plural = "escalation steps"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("run", "notice")

    @admin.display(description="Step")
    def step(self, obj: Escalation) -> str:
        if obj.run is None:
            return "(before the escalation policies)"
        return f"{obj.run.get_action_display()} #{obj.run.occurrence}"

    @admin.display(description="Status")
    def status(self, obj: Escalation) -> str:
        return obj.run.get_status_display() if obj.run else "—"

    @admin.display(description="Delivery")
    def delivery(self, obj: Escalation) -> str:
        run = obj.run
        if run is None or run.delivered_at is None:
            return f"retry at {run.next_attempt_at:%Y-%m-%d %H:%M:%S}" if run and run.next_attempt_at else "—"
        return f"{run.delivered_at:%Y-%m-%d %H:%M:%S} to {run.target}"


@admin.register(Url)
class UrlAdmin(AuditedReadsMixin, TrackerModelAdmin):
    """A case. Reading its page writes `url.view`, a page of the list `url.list` (the ids shown)."""

    audit_read = "url.view"
    audit_list = "url.list"
    list_display = ["id", "url_defanged", "status_badge", "provider", "first_reported_at", "ttr_display"]
    list_select_related = ["provider"]
    list_filter = URL_FILTERS
    search_fields = ["host"]  # shows the search box; `get_search_results` says what a term finds
    search_help_text = (
        "A notice reference (TN-…), case id, host, IP address, provider name, or a URL as pasted "
        "(defanged too: hxxp://, [.])."
    )
    fieldsets = [
        ("Case", {"fields": ["url_defanged", "host", "status", "current_assessment", "current_trace",
                             "provider"]}),
        ("Hosting trace", {"fields": ["trace_chain"]}),
        ("Timeline", {"fields": ["first_reported_at", "assessed_at", "traced_at", "first_notice_sent_at",
                                 "acknowledged_at", "closed_at"]}),
        ("Removal", {"fields": ["removal_summary", "last_live_at", "first_gone_at", "consecutive_gone",
                                "removal_confirmed_at", "reappearance_count"]}),
        ("Checking", {"fields": ["last_checked_at", "last_outcome", "next_check_at", "purged_at"]}),
        ("Escalation", {"fields": ["next_escalation_at"]}),
        ("Counted against (at first notice)",
         {"fields": ["provider_at_notice", "asn_at_notice", "country_at_notice"]}),
    ]  # fmt: skip
    readonly_fields = [name for _, group in fieldsets for name in group["fields"]]
    inlines = [ReportInline, AssessmentInline, TraceInline, CheckInline, EscalationInline, EventInline]
    actions = [
        "assess_selected",
        "trace_now",
        "check_now",
        "create_hotline_notices",
        "refer_to_police",
        "hand_off_to_partner",
        "close_cases",
        "reopen_cases",
        "place_hold",
    ]
    list_per_page = 50
    show_full_result_count = False  # COUNT(*) over millions of URLs on every page is not worth it

    change_form_template = "admin/notices/url/change_form.html"
    change_list_template = "admin/notices/url/change_list.html"

    def has_add_permission(self, request) -> bool:
        return False  # URLs come in as reports (API or the report form)

    def has_create_notice_permission(self, request) -> bool:
        """Creating notices from cases (the action): the right to create notices."""
        return request.user.has_perm("notices.add_notice")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a case is closed (an action, with its reason), never deleted, even by a superuser

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(search_condition(search_term)), False

    def changelist_view(self, request, extra_context=None):
        may_enter = request.user.has_perm("notices.add_report")
        return super().changelist_view(
            request, {**(extra_context or {}), "has_add_report_permission": may_enter}
        )

    def get_urls(self):
        assess = self.admin_site.admin_view(self.assess_view)
        override = self.admin_site.admin_view(lambda request, pk: override_view(self, request, pk))
        return [
            path("enter/", self.admin_site.admin_view(self.enter_view), name="notices_url_enter"),
            path("<int:pk>/assess/", assess, name="notices_url_assess"),
            path("<int:pk>/override/", override, name="notices_url_override"),
            *super().get_urls(),
        ]

    def assess_view(self, request, pk: int):
        """Assess a URL: legality and classification go through the assessment service."""
        url = get_object_or_404(Url, pk=pk)
        if not self.has_change_permission(request, url):
            raise PermissionDenied
        if url.purged_at:
            self.message_user(request, "This case was purged: it cannot be assessed again.", messages.ERROR)
            return redirect("admin:notices_url_change", pk)
        form = AssessmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            assess_url(url=url, analyst=request.user, now=timezone.now(), **form.cleaned_data)
            audit_request(
                request, action="admin.assess", obj=url, data={"legality": form.cleaned_data["legality"]}
            )
            self.message_user(
                request,
                "Assessment recorded."
                + (" A hosting trace is queued." if url.current_trace_id is None else ""),
            )
            return redirect("admin:notices_url_change", pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": url,
            "form": form,
            "title": "Assess URL",
            "url_defanged": url_shown(url),
        }
        return TemplateResponse(request, "admin/notices/url/assess.html", context)

    def enter_view(self, request):
        """Reports entered by hand: each line through the intake service, as the API records them (one
        transaction: all the lines or, on any bad line, none)."""
        if not request.user.has_perm("notices.add_report"):
            raise PermissionDenied
        form = ReportEntryForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            notes = form.cleaned_data["notes"].strip()
            items = [
                ReportInput(url=url, notes="\n".join(filter(None, [notes, note])))
                for url, note in form.cleaned_data["urls"]
            ]
            results = submit_reports(items=items, now=timezone.now(), user=request.user)
            ids = sorted({result.url_id for result in results})
            audit_request(request, action="admin.reports_entered", object_type="url", data={"urls": ids})
            known = sum(result.duplicate for result in results)
            self.message_user(
                request,
                f"Recorded {len(results)} report(s): {len(results) - known} new, {known} for a case already "
                "known (or named twice).",
            )
            return redirect(reverse("admin:notices_url_changelist") + "?queue=new")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": "Enter reports",
        }
        return TemplateResponse(request, "admin/notices/url/enter.html", context)

    @admin.action(description="Assess the selected cases", permissions=["change"])
    def assess_selected(self, request, queryset):
        """One assessment for every selected case, through the assessment service (each case on its own:
        a purged one is refused by name, the others are assessed)."""

        def assess(url: Url, data: dict) -> None:
            try:
                assess_url(url=url, analyst=request.user, now=timezone.now(), **data)
            except AssessmentError as exc:
                raise NoticeError(exc.errors) from exc

        return reason_step(
            self,
            request,
            queryset,
            form_class=AssessmentForm,
            title="Assess the selected cases",
            button="Save this assessment for each",
            apply=assess,
            done="Assessed {count} case(s). Each one never traced gets a hosting trace queued.",
            explain="The same assessment is recorded for each case, as if saved on its own page.",
        )

    @admin.display(description="URL (defanged)")
    def url_defanged(self, obj: Url) -> str:
        return url_shown(obj)

    @admin.display(description="Trace chain (each source, in order)")
    def trace_chain(self, obj: Url) -> str:
        return trace_chain_html(obj.current_trace)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Url) -> str:
        closed = obj.status == UrlStatus.CLOSED  # not a notice's "closed" (all removed): its own colour
        return badge("closed_case" if closed else obj.status, obj.get_status_display())

    @admin.display(description="Time to removal")
    def removal_summary(self, obj: Url) -> str:
        if obj.ttr_high is None:
            return "not removed yet" if obj.first_notice_sent_at else "no notice sent yet"
        return (
            f"{seconds(obj.ttr_low)} – {seconds(obj.ttr_high)} after the first notice "
            f"(removed between {obj.removed_low:%Y-%m-%d %H:%M:%S} and "
            f"{obj.removed_high:%Y-%m-%d %H:%M:%S} UTC)"
        )

    @admin.display(description="TTR")
    def ttr_display(self, obj: Url) -> str:
        if obj.ttr_high is None:
            return "—"
        return f"{seconds(obj.ttr_low)} – {seconds(obj.ttr_high)}"

    @admin.action(description="Trace the hosting now", permissions=["change"])
    def trace_now(self, request, queryset) -> None:

        ids = list(queryset.filter(purged_at=None).values_list("pk", flat=True))
        for pk in ids:
            enqueue.send(enqueue.TRACE_URL, pk)
        self.message_user(request, f"Queued a trace for {len(ids)} URL(s).")

    @admin.action(description="Check now (re-check liveness)", permissions=["change"])
    def check_now(self, request, queryset) -> None:

        ids = list(queryset.exclude(next_check_at=None).values_list("pk", flat=True))
        with transaction.atomic():
            urls.check_now(ids, now=timezone.now(), confirmed_too=True)
        self.message_user(request, f"Queued a check for {len(ids)} URL(s) under watch.")

    @admin.action(
        description="Record referral to law enforcement (own-country hosting)", permissions=["change"]
    )
    def refer_to_police(self, request, queryset) -> None:
        for url in queryset:
            refer_to_law_enforcement(url=url, now=timezone.now(), user=request.user)
        self.message_user(request, f"Recorded the law-enforcement referral of {queryset.count()} URL(s).")

    @admin.action(
        description="Hand off to the partner hotline of the hosting country", permissions=["change"]
    )
    def hand_off_to_partner(self, request, queryset) -> None:
        for url in queryset.select_related("current_trace", "provider"):
            partner = handoff_partner(hosting_country(url))
            if partner is None:
                self.message_user(
                    request, f"URL {url.pk}: no partner hotline for its country.", level=messages.ERROR
                )
                continue
            try:
                hand_off(url=url, partner=partner, now=timezone.now(), user=request.user)
                self.message_user(request, f"URL {url.pk} handed off to {partner}.")
            except NoticeError as exc:
                problems = [message for messages_ in exc.errors.values() for message in messages_]
                self.message_user(request, "; ".join(problems), level=messages.ERROR)

    @admin.action(description="Close cases (with a reason)", permissions=["change"])
    def close_cases(self, request, queryset):
        def close(url: Url, data: dict) -> None:
            close_case(
                url=url, reason=data["reason"], note=data["note"], now=timezone.now(), user=request.user
            )

        return reason_step(
            self,
            request,
            queryset,
            form_class=CloseCasesForm,
            title="Close cases",
            button="Close these cases",
            apply=close,
            done="Closed {count} case(s): no more checks, escalations or notices for them.",
        )

    @admin.action(description="Law-enforcement hold: do not notify (with a reason)", permissions=["change"])
    def place_hold(self, request, queryset):
        def hold(url: Url, data: dict) -> None:
            request_hold(
                url=url,
                reason=data["reason"],
                requester=data["requester"],
                expires_at=data["expires_at"],
                now=timezone.now(),
                user=request.user,
            )

        return reason_step(
            self,
            request,
            queryset,
            form_class=HoldForm,
            title="Law-enforcement hold",
            button="Hold these cases",
            apply=hold,
            done="Held {count} case(s): nothing is sent for them until the hold is cleared or times out.",
            explain="No notice naming a held case is created or sent, its queued mails wait and its "
            "escalation waits; the hold is left out of the provider's SLA figures.",
        )

    @admin.action(description="Reopen closed cases", permissions=["change"])
    def reopen_cases(self, request, queryset) -> None:
        def reopen(url: Url) -> None:
            reopen_case(url=url, now=timezone.now(), user=request.user)

        each(self, request, queryset, reopen, "Reopened {count} case(s), each to the status it had.")

    @admin.action(description="Create hotline notices (one per provider)", permissions=["create_notice"])
    def create_hotline_notices(self, request, queryset) -> None:
        try:
            notices = create_notices(
                urls=list(queryset),
                notice_type=NoticeType.HOTLINE_NOTICE,
                now=timezone.now(),
                created_by=request.user,
            )
        except NoticeError as exc:
            for problem in exc.errors.get("urls", []) + exc.errors.get("detail", []):
                self.message_user(request, problem, level=messages.ERROR)
            return
        refs = ", ".join(n.reference for n in notices)
        self.message_user(request, f"Created draft notice(s) {refs}. Open them to review and send.")


@admin.register(Report)
class ReportAdmin(AuditedReadsMixin, SystemRecordAdmin):
    audit_read = "report.view"
    audit_list = "report.list"
    list_select_related = ["partner", "url"]
    list_display = ["receipt", "url_defanged", "partner", "reported_at", "received_at", "duplicate"]
    list_filter = ["partner", "duplicate"]
    search_fields = ["receipt", "external_ref"]
    readonly_fields = [
        "url",
        "partner",
        "submitted_by",
        "url_defanged",
        "reported_at",
        "received_at",
        "external_ref",
        "notes",
        "hashes",
        "receipt",
        "duplicate",
    ]
    exclude = ["original_url"]
    show_full_result_count = False

    def audit_read_data(self, obj: Report) -> dict:
        return {"urls": [obj.url_id]}

    def audit_list_urls(self, rows) -> list[int]:
        return sorted({row.url_id for row in rows})

    @admin.display(description="URL (defanged)")
    def url_defanged(self, obj: Report) -> str:
        return url_shown(obj.url, obj.original_url)


@admin.register(Assessment)
class AssessmentAdmin(SystemRecordAdmin):
    list_display = ["url", "legality", "classification", "detection_method", "analyst", "created_at"]
    list_filter = ["legality", "classification"]
    readonly_fields = ["url", "analyst", "created_at"]


class _UrlRecordReads(AuditedReadsMixin):
    """A record of one case whose page shows its host or URL: the read lists the case."""

    def audit_read_data(self, obj) -> dict:
        return {"urls": [obj.url_id]}


@admin.register(HostingTrace)
class HostingTraceAdmin(_UrlRecordReads, SystemRecordAdmin):
    audit_read = "trace.view"
    list_display = ["url", "traced_at", "ip", "asn", "provider", "country", "is_hop", "error"]
    list_filter = ["is_hop", "country"]
    readonly_fields = [f.name for f in HostingTrace._meta.fields]


@admin.register(Check)
class CheckAdmin(_UrlRecordReads, SystemRecordAdmin):
    audit_read = "check.view"
    list_display = ["url", "checked_at", "outcome", "status_code", "error_class", "resolved_ip", "elapsed_ms"]
    list_filter = ["outcome", "error_class"]
    readonly_fields = [f.name for f in Check._meta.fields]
    show_full_result_count = False


@admin.register(Event)
class EventAdmin(SystemRecordAdmin):
    list_display = ["at", "kind", "url", "notice", "actor"]
    list_filter = ["kind"]
    readonly_fields = [f.name for f in Event._meta.fields]
    show_full_result_count = False


@admin.register(Partner)
class PartnerAdmin(TrackerModelAdmin):
    list_display = ["name", "country", "created_at"]
    search_fields = ["name"]
