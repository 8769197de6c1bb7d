"""Admin for cases: URLs, reports, assessments, traces, checks, events."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from notices.admin.common import (
    AuditedReadsMixin,
    OfferedChoicesFilter,
    ReadOnlyInline,
    SystemRecordAdmin,
    TimelineInline,
    TrackerModelAdmin,
    badge,
    url_shown,
    valid_pk,
)
from notices.admin.disputes import dispute_view
from notices.admin.forms import (
    AssessmentForm,
    AssignForm,
    CaseForm,
    CloseCasesForm,
    HoldForm,
    ReportEntryForm,
    case_workers,
)
from notices.admin.hosting import override_view, trace_chain_html
from notices.admin.lifecycle import each, reason_step, refusal
from notices.admin.queue import URL_FILTERS, search_condition
from notices.canonical import defang
from notices.delivery import webhooks
from notices.enums import ItemStatus, NoticeType, ReportChannel, UrlStatus
from notices.errors import NoticeError
from notices.infra import enqueue
from notices.infra.events import audit_request
from notices.models import (
    Assessment,
    Check,
    Escalation,
    Event,
    HostingTrace,
    NetworkLink,
    NoticeItem,
    Partner,
    Report,
    Url,
)
from notices.selectors.matching import same_material
from notices.selectors.sites import cases_of_site, hosts_of_site, site_summary
from notices.selectors.timeline import KIND_LABELS, event_kinds, event_label
from notices.services import casework, urls
from notices.services.assessment import AssessmentError, assess_url
from notices.services.holds import request_hold
from notices.services.intake import ReportInput, submit_reports
from notices.services.lifecycle import close_case, reopen_case
from notices.services.notices import create_notices
from notices.services.partner_webhooks import set_partner_webhook
from notices.services.routing import hand_off, handoff_partner, hosting_country, refer_to_law_enforcement
from notices.templatetags.tracker import duration_bounds

SITE_CASES_SHOWN = 200  # newest cases listed on a site's page; the URL list (filtered by site) has them all


class ReportInline(ReadOnlyInline, admin.TabularInline):
    model = Report
    fields = ["receipt", "channel", "partner", "reported_at", "received_at", "external_ref", "duplicate"]
    readonly_fields = fields


class AssessmentInline(ReadOnlyInline, admin.TabularInline):
    model = Assessment
    fields = [
        "created_at",
        "analyst",
        "legality",
        "network_classification",
        "classification",
        "detection_method",
        "severity",
        "age_band",
        "victim_gender",
        "virtual_content",
        "user_generated",
        "child_modelling",
        "site_type",
        "commercial",
        "payment_methods",
        "outcome_reason",
        "notes",
    ]
    readonly_fields = fields


class NetworkLinkInline(ReadOnlyInline, admin.TabularInline):
    """Deconfliction: the other hotlines with this case, their references, and whether our notice is held."""

    model = NetworkLink
    fields = ["partner", "role", "partner_reference", "provider", "holds_notices", "created_at"]
    readonly_fields = fields
    verbose_name = "other hotline's case"
    verbose_name_plural = "other hotlines (their references; a held notice is not sent twice)"


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

    fields = ["at", "kind_label", "what", "actor"]
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
    # Fits a 1280 px window beside the filters, the navigation sidebar open too (test_case_list_browser.py):
    # the site under its URL, the assignee under the status, the first report's date short.
    list_display = ["id", "case_cell", "status_cell", "provider", "reported", "ttr_display"]
    list_select_related = ["provider", "assigned_to"]
    form = CaseForm
    list_filter = URL_FILTERS
    search_fields = ["host"]  # shows the search box; `get_search_results` says what a term finds
    search_help_text = (
        "A notice reference (TN-…), case id, host, IP address, provider name, or a URL as pasted "
        "(defanged too: hxxp://, [.])."
    )
    fieldsets = [
        ("Case", {"fields": ["url_defanged", "host", "site_link", "status", "current_assessment",
                             "current_trace", "provider", "same_material_html"]}),
        ("Assignment", {"fields": ["assigned_to", "assigned_at", "verification", "worked_by", "worked_at",
                                   "revision", "changed_by", "changed_at", "seen_revision"]}),
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
    readonly_fields = [
        name
        for _, group in fieldsets
        for name in group["fields"]
        if name not in ("assigned_to", "seen_revision")
    ]
    inlines = [
        ReportInline,
        AssessmentInline,
        NetworkLinkInline,
        TraceInline,
        CheckInline,
        EscalationInline,
        EventInline,
    ]
    actions = [
        "assess_selected",
        "trace_now",
        "check_now",
        "create_hotline_notices",
        "refer_to_police",
        "hand_off_to_partner",
        "close_cases",
        "reopen_cases",
        "assign_to_me",
        "assign_selected",
        "verify_selected",
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

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The case page. Opening it warns of another analyst who had it open or changed it within
        CASE_LOCK_SECONDS (the soft lock), and stamps the reader; saving it is refused when the case changed
        since the page showed it (the form's revision; the row is locked while the save is checked)."""
        if not valid_pk(Url, object_id):
            return super().change_view(request, object_id, form_url, extra_context)
        now = timezone.now()
        if request.method == "POST":
            with transaction.atomic():
                Url.objects.select_for_update(of=("self",)).filter(pk=object_id).first()
                return super().change_view(request, object_id, form_url, extra_context)
        url = Url.objects.select_related("worked_by", "assigned_to").filter(pk=object_id).first()
        extra = dict(extra_context or {})
        if url is not None and self.has_view_or_change_permission(request, url):
            self._warn_of_others(request, url, now)
            if self.has_change_permission(request, url):  # a reader who may not work the case holds no lock
                casework.touch(url, user=request.user, now=now)
            extra["disputed"] = NoticeItem.objects.filter(url=url, status=ItemStatus.DISPUTED).exists()
        return super().change_view(request, object_id, form_url, extra)

    def _warn_of_others(self, request, url: Url, now) -> None:
        since = now - timedelta(seconds=settings.CASE_LOCK_SECONDS)
        other = url.worked_by
        if other is not None and other.pk != request.user.pk and url.worked_at and url.worked_at >= since:
            minutes = max(1, round((now - url.worked_at).total_seconds() / 60))
            self.message_user(
                request,
                f"{other.get_username()} is working on this case: they had it open or changed it "
                f"{minutes} minute(s) ago. Talk to them before you change it.",
                messages.WARNING,
            )
        if url.assigned_to_id and url.assigned_to_id != request.user.pk:
            self.message_user(
                request, f"This case is assigned to {url.assigned_to.get_username()}.", messages.INFO
            )

    def _not_held(self, request, queryset):
        """The selected cases less those another analyst holds the soft lock on (had open or changed within
        CASE_LOCK_SECONDS), which a warning names with who has them: the list's actions that change cases
        work on the rest. (Tracing and checking again only queue the system's work: they take every case.)"""
        held = casework.held_by_others(queryset, user=request.user, now=timezone.now())
        if not held:
            return queryset
        by_holder: dict[str, list[int]] = {}
        for pk, who in held.items():
            by_holder.setdefault(who, []).append(pk)
        named = "; ".join(f"{', '.join(map(str, ids))} ({who})" for who, ids in sorted(by_holder.items()))
        minutes = max(1, int(settings.CASE_LOCK_SECONDS // 60))
        rest = queryset.exclude(pk__in=list(held))
        others = " the others selected went ahead." if rest.exists() else " no other case was selected."
        self.message_user(
            request,
            f"Skipped {len(held)} case(s) another analyst is working on (had open or changed in the last "
            f"{minutes} minute(s)): {named}. Talk to them first;{others}",
            messages.WARNING,
        )
        return rest

    def save_model(self, request, obj, form, change) -> None:
        """The case form saves only the assignment, through the casework service (revision, event)."""
        casework.assign(
            url_ids=[obj.pk], to=form.cleaned_data.get("assigned_to"), user=request.user, now=timezone.now()
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assigned_to":
            kwargs["queryset"] = case_workers()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_urls(self):
        verify = self.admin_site.admin_view(self.verify_view)
        dispute = self.admin_site.admin_view(lambda request, pk: dispute_view(self, request, pk))
        assess = self.admin_site.admin_view(self.assess_view)
        override = self.admin_site.admin_view(lambda request, pk: override_view(self, request, pk))
        return [
            path("enter/", self.admin_site.admin_view(self.enter_view), name="notices_url_enter"),
            path("site/<str:site>/", self.admin_site.admin_view(self.site_view), name="notices_url_site"),
            path("<int:pk>/assess/", assess, name="notices_url_assess"),
            path("<int:pk>/verify/", verify, name="notices_url_verify"),
            path("<int:pk>/dispute/", dispute, name="notices_url_dispute"),
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
            now = timezone.now()
            try:
                with transaction.atomic():
                    locked = casework.lock_case(url.pk, revision=_seen_revision(request))
                    assess_url(url=url, analyst=request.user, now=now, **form.cleaned_data)
                    casework.changed(locked, user=request.user, now=now)
            except NoticeError as exc:
                self.message_user(request, refusal(exc), messages.ERROR)
                return redirect("admin:notices_url_change", pk)
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
            "revision": url.revision,
        }
        return TemplateResponse(request, "admin/notices/url/assess.html", context)

    def site_view(self, request, site: str):
        """A site's group (README "Site groups"): its figures, host names and newest cases, and the actions
        of the URL list run over all its cases at once (the list filtered by `site`, every case selected)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        site = site.lower()
        cases = list(cases_of_site(site).select_related("provider")[:SITE_CASES_SHOWN])
        audit_request(
            request, action="url.site_view", object_type="url", data={"urls": [u.pk for u in cases]}
        )
        actions = [(name, label) for name, label in self.get_action_choices(request) if name]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Site {defang(site)}",
            "site": site,
            "site_shown": defang(site),
            "summary": site_summary(site),
            "hosts": [(defang(host), n) for host, n in hosts_of_site(site)],
            "cases": [(url, url_shown(url)) for url in cases],
            "more": len(cases) == SITE_CASES_SHOWN,
            "actions": actions,
            "list_url": reverse("admin:notices_url_changelist") + "?" + urlencode({"site": site}),
        }
        return TemplateResponse(request, "admin/notices/url/site.html", context)

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
            results = submit_reports(
                items=items, now=timezone.now(), user=request.user, channel=ReportChannel.ADMIN
            )
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
            now = timezone.now()
            try:
                with transaction.atomic():
                    assess_url(url=url, analyst=request.user, now=now, **data)
                    casework.changed(casework.lock_case(url.pk, revision=None), user=request.user, now=now)
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
            explain="The same assessment is recorded for each case, as if saved on its own page. A case "
            "another analyst is working on (the soft lock) is left out, and named.",
            narrow=lambda cases: self._not_held(request, cases),
        )

    def verify_view(self, request, pk: int):
        """The case page's "Verify assessment" button (POST, with the revision the page showed)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        url = get_object_or_404(Url, pk=pk)
        if not self.has_change_permission(request, url):
            raise PermissionDenied
        try:
            casework.verify(url=url, user=request.user, now=timezone.now(), revision=_seen_revision(request))
        except NoticeError as exc:
            self.message_user(request, refusal(exc), messages.ERROR)
        else:
            audit_request(request, action="admin.verify", obj=url, data={"urls": [url.pk]})
            self.message_user(request, "Assessment verified: notices naming this case may go out.")
        return redirect("admin:notices_url_change", pk)

    @admin.action(description="Assign the selected cases to me", permissions=["change"])
    def assign_to_me(self, request, queryset) -> None:
        ids = list(self._not_held(request, queryset).values_list("pk", flat=True))
        done = casework.assign(url_ids=ids, to=request.user, user=request.user, now=timezone.now())
        self.message_user(
            request, f"Assigned {len(done)} case(s) to you ({len(ids) - len(done)} were already)."
        )

    @admin.action(description="Assign the selected cases to an analyst", permissions=["change"])
    def assign_selected(self, request, queryset):
        def assign(url: Url, data: dict) -> None:
            casework.assign(url_ids=[url.pk], to=data["analyst"], user=request.user, now=timezone.now())

        return reason_step(
            self,
            request,
            queryset,
            form_class=AssignForm,
            title="Assign cases",
            button="Assign these cases",
            apply=assign,
            done="Assigned {count} case(s).",
            explain="The analyst sees them under “My cases”.",
            narrow=lambda cases: self._not_held(request, cases),
        )

    @admin.action(description="Verify the assessment (four eyes)", permissions=["change"])
    def verify_selected(self, request, queryset) -> None:
        def verify(url: Url) -> None:
            casework.verify(url=url, user=request.user, now=timezone.now())

        cases = self._not_held(request, queryset)
        each(self, request, cases, verify, "Verified the assessment of {count} case(s).")

    @admin.display(description="Four-eyes verification")
    def verification(self, obj: Url) -> str:
        assessment = obj.current_assessment
        if assessment is None:
            return "no assessment yet"
        if assessment.verified_at is None:
            required = "required before any notice" if settings.FOUR_EYES_VERIFICATION else "not required"
            return f"not verified ({required})"
        who = assessment.verified_by.get_username() if assessment.verified_by else "?"
        return format_html("verified by {} at {:%Y-%m-%d %H:%M:%S} UTC", who, assessment.verified_at)

    @admin.display(description="URL (defanged)")
    def url_defanged(self, obj: Url) -> str:
        return url_shown(obj)

    @admin.display(description="URL (defanged) · site")
    def case_cell(self, obj: Url) -> str:
        return format_html('{}<div class="case-site">{}</div>', url_shown(obj), self.site_link(obj))

    @admin.display(description="Status · assigned to", ordering="status")
    def status_cell(self, obj: Url) -> str:
        who = obj.assigned_to.get_username() if obj.assigned_to_id else ""
        assigned = format_html('<div class="case-assignee">{}</div>', who) if who else ""
        return format_html("{}{}", self.status_badge(obj), assigned)

    @admin.display(description="Reported", ordering="first_reported_at")
    def reported(self, obj: Url) -> str:
        """The first report's date and time (TIME_ZONE), short: "2026-12-04 19:25"."""
        if obj.first_reported_at is None:
            return "—"
        when = timezone.localtime(obj.first_reported_at)
        return format_html('<span class="nowrap">{}</span> {}', f"{when:%Y-%m-%d}", f"{when:%H:%M}")

    @admin.display(description="Site", ordering="site")
    def site_link(self, obj: Url) -> str:
        if not obj.site:
            return "—"
        link = reverse("admin:notices_url_site", args=[obj.site])
        return format_html('<a href="{}" class="url">{}</a>', link, defang(obj.site))

    @admin.display(description="Same material as (cases sharing a hash value)")
    def same_material_html(self, obj: Url) -> str:
        matches = same_material(obj.pk)
        if not matches:
            return "—"
        rows = format_html_join(
            "",
            '<li><a href="{}">case {}</a> {} · {} · {} <span class="muted">({})</span></li>',
            (
                (
                    reverse("admin:notices_url_change", args=[m.url.pk]),
                    m.url.pk,
                    url_shown(m.url),
                    m.url.provider or "provider not traced",
                    m.url.get_status_display(),
                    ", ".join(m.algorithms),
                )
                for m in matches
            ),
        )
        return format_html('<ul class="same-material">{}</ul>', rows)

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
            f"{duration_bounds(obj.ttr_low, obj.ttr_high)} after the first notice "
            f"(removed between {obj.removed_low:%Y-%m-%d %H:%M:%S} and "
            f"{obj.removed_high:%Y-%m-%d %H:%M:%S} UTC)"
        )

    @admin.display(description="TTR")
    def ttr_display(self, obj: Url) -> str:
        """Both bounds, as precise as it takes to tell them apart (one value when they are equal)."""
        if obj.ttr_high is None:
            return "—"
        low, _, high = duration_bounds(obj.ttr_low, obj.ttr_high).partition(" – ")
        rest = format_html(' – <span class="nowrap">{}</span>', high) if high else ""
        return format_html('<span class="nowrap">{}</span>{}', low, rest)

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
        cases = list(self._not_held(request, queryset))
        for url in cases:
            refer_to_law_enforcement(url=url, now=timezone.now(), user=request.user)
        self.message_user(request, f"Recorded the law-enforcement referral of {len(cases)} URL(s).")

    @admin.action(
        description="Hand off to the partner hotline of the hosting country", permissions=["change"]
    )
    def hand_off_to_partner(self, request, queryset) -> None:
        for url in self._not_held(request, queryset).select_related("current_trace", "provider"):
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
            narrow=lambda cases: self._not_held(request, cases),
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
            narrow=lambda cases: self._not_held(request, cases),
        )

    @admin.action(description="Reopen closed cases", permissions=["change"])
    def reopen_cases(self, request, queryset) -> None:
        def reopen(url: Url) -> None:
            reopen_case(url=url, now=timezone.now(), user=request.user)

        cases = self._not_held(request, queryset)
        each(self, request, cases, reopen, "Reopened {count} case(s), each to the status it had.")

    @admin.action(description="Create hotline notices (one per provider)", permissions=["create_notice"])
    def create_hotline_notices(self, request, queryset) -> None:
        cases = list(self._not_held(request, queryset))
        if not cases:
            return
        try:
            notices = create_notices(
                urls=cases,
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


def _seen_revision(request) -> int | None:
    """The case revision a page showed (its hidden `revision` field); None when it sent none."""
    value = request.POST.get("revision", "")
    return int(value) if value.isdigit() and len(value) < 10 else None


@admin.register(Report)
class ReportAdmin(AuditedReadsMixin, SystemRecordAdmin):
    audit_read = "report.view"
    audit_list = "report.list"
    list_select_related = ["partner", "url"]
    list_display = [
        "receipt",
        "url_defanged",
        "channel",
        "partner",
        "reported_at",
        "received_at",
        "duplicate",
    ]
    list_filter = ["channel", "partner", "duplicate"]
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
        "channel",
        "reporter_email",
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


class EventKindFilter(OfferedChoicesFilter):
    """The kinds recorded, read by skipping through the kind index (Django's field filter would scan every
    event for its distinct kinds on each page)."""

    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(kind, event_label(kind)) for kind in event_kinds()]

    def offered_values(self) -> list[str]:
        """The kinds offered, and every kind the project names though none is recorded yet: a link to those
        shows an empty list, not a refusal."""
        offered = super().offered_values()
        return offered + sorted(set(KIND_LABELS) - set(offered))

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(Event)
class EventAdmin(SystemRecordAdmin):
    list_display = ["at", "kind_label", "url", "notice", "actor"]
    list_filter = [EventKindFilter]
    list_select_related = ["url", "notice"]
    readonly_fields = [f.name for f in Event._meta.fields]
    show_full_result_count = False

    @admin.display(description="Kind", ordering="kind")
    def kind_label(self, obj: Event) -> str:
        return event_label(obj.kind)


class PartnerForm(forms.ModelForm):
    webhook_url = forms.URLField(
        required=False,
        max_length=2000,
        assume_scheme="https",
        help_text="Optional: receives signed JSON when a case it reported is noticed, removed or closed.",
    )

    class Meta:
        model = Partner
        fields = ["name", "country", "receives_handoffs", "handoff_email", "webhook_url"]

    def clean_webhook_url(self) -> str:
        value = self.cleaned_data["webhook_url"] or ""
        try:
            return webhooks.validate_webhook_url(value) if value else ""
        except webhooks.WebhookError as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(Partner)
class PartnerAdmin(TrackerModelAdmin):
    """Partners; a webhook URL set or changed here gets a new signing secret (shown on the page), cleared
    turns the partner's webhook off (notices/services/partner_webhooks.py)."""

    form = PartnerForm
    list_display = ["name", "country", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["webhook_secret"]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if "webhook_url" in form.changed_data:
            set_partner_webhook(partner=obj, url=obj.webhook_url)
