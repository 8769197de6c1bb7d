"""Admin for notices, the outbox, provider responses, escalations, API keys and the audit log."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils import timezone

from notices.admin.common import (
    AuditedReadsMixin,
    ReadOnlyInline,
    SystemRecordAdmin,
    TimelineInline,
    TrackerModelAdmin,
    badge,
    url_shown,
    valid_pk,
)
from notices.admin.forms import WithdrawNoticesForm
from notices.admin.inbound import InboundMessageInline
from notices.admin.lifecycle import reason_step
from notices.admin.staff import ReauthRequiredMixin
from notices.delivery.compose import attach_reports, notice_items, render_notice_mails
from notices.delivery.outbox import abuse_recipients, no_contact_error
from notices.enums import ContactChannel, NoticeStatus
from notices.errors import NoticeError
from notices.infra.events import audit_request
from notices.models import (
    ApiKey,
    ChannelReport,
    Notice,
    NoticeItem,
    OutgoingMessage,
    ProviderResponse,
    StepRun,
)
from notices.services.casework import unverified_cases, unverified_error
from notices.services.lifecycle import withdraw
from notices.services.notices import deadline_for, queue_notice


def draft_preview(notice: Notice, *, now: datetime) -> dict:
    """What a draft notice sends if it is sent now: its recipients (or why there are none), the mail as the
    composer renders it in the notice's language (subject and text part: defanged URLs, nothing fetched from
    a reported site) and the attachments' names. Nothing is saved: the deadline shown is the one sending now
    would set."""
    provider = notice.provider
    notice.deadline_at = notice.deadline_at or deadline_for(notice.notice_type, now)
    by_mail = provider.channel == ContactChannel.EMAIL
    recipients = abuse_recipients([provider.pk]).get(provider.pk, []) if by_mail else []
    items = notice_items(notice)
    (mail,) = render_notice_mails(
        [notice], now=now, recipients={provider.pk: recipients}, items={notice.pk: items}
    )
    attach_reports(mail, notice, items)
    return {
        "by_mail": by_mail,
        "recipients": recipients,
        "problem": no_contact_error(provider)["detail"][0] if by_mail and not recipients else "",
        "language": notice.get_language_display(),
        "subject": mail.subject,
        "text": mail.text,
        "attachments": [name for name, _type, _content in mail.attachments],
        "deadline": notice.deadline_at,
    }


class NoticeItemInline(ReadOnlyInline, admin.TabularInline):
    model = NoticeItem
    fields = ["url_link", "status", "is_open", "reported_removal", "confirmed_removal"]
    readonly_fields = fields
    verbose_name = "URL in the notice"
    verbose_name_plural = "URLs in the notice"

    @admin.display(description="URL")
    def url_link(self, obj: NoticeItem) -> str:
        return url_shown(obj.url)

    @admin.display(description="Removal reported by the provider")
    def reported_removal(self, obj: NoticeItem):
        return obj.reported_removed_at or "—"

    @admin.display(description="Removal confirmed by our checks")
    def confirmed_removal(self, obj: NoticeItem):
        return obj.removed_at or "—"


class MessageInline(ReadOnlyInline, admin.TabularInline):
    model = OutgoingMessage
    fields = [
        "channel",
        "message_id",
        "recipients",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]
    readonly_fields = fields


class ChannelReportInline(ReadOnlyInline, admin.TabularInline):
    """What the provider's abuse API was sent for the notice and what it said (Cloudflare, AWS, webhook)."""

    model = ChannelReport
    fields = [
        "channel",
        "label",
        "status",
        "remote_id",
        "accepted_at",
        "remote_status",
        "reason_code",
        "polled_at",
        "last_error",
    ]
    readonly_fields = fields
    ordering = ["message_id", "position"]
    verbose_name_plural = "abuse API reports"


class ResponseInline(ReadOnlyInline, admin.TabularInline):
    model = ProviderResponse
    fields = ["created_at", "action", "message", "user", "api_key"]
    readonly_fields = fields


class NoticeEventInline(TimelineInline):
    fields = ["at", "kind_label", "what", "url", "actor"]
    readonly_fields = fields


class StepRunInline(ReadOnlyInline, admin.TabularInline):
    """The escalation steps taken for the notice and where each delivery stands."""

    model = StepRun
    fields = ["created_at", "action", "occurrence", "status", "target", "delivered_at", "next_attempt_at"]
    readonly_fields = fields
    ordering = ["created_at", "pk"]
    verbose_name_plural = "escalation steps"


@admin.register(Notice)
class NoticeAdmin(AuditedReadsMixin, TrackerModelAdmin):
    """A notice's page shows its URLs: reading it writes `notice.view` with the URL ids."""

    audit_read = "notice.view"
    list_display = [
        "reference",
        "provider",
        "notice_type",
        "status_badge",
        "created_at",
        "sent_at",
        "acknowledged_at",
        "deadline_at",
    ]
    list_filter = ["status", "notice_type", "provider"]
    search_fields = ["reference", "provider_ticket"]
    readonly_fields = [
        "reference",
        "provider",
        "status",
        "language",
        "created_by",
        "created_at",
        "queued_at",
        "sent_at",
        "acknowledged_at",
        "closed_at",
        "purged_at",
        "withdrawn_at",
    ]
    inlines = [
        NoticeItemInline,
        MessageInline,
        ChannelReportInline,
        InboundMessageInline,
        ResponseInline,
        StepRunInline,
        NoticeEventInline,
    ]
    actions = ["send_notices", "withdraw_notices"]

    show_full_result_count = False
    change_form_template = "admin/notices/notice/change_form.html"

    def get_urls(self):
        send = self.admin_site.admin_view(self.send_view)
        return [path("<int:pk>/send/", send, name="notices_notice_send"), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """A draft's page shows what will go out (`draft_preview`) and a Send button."""
        extra = dict(extra_context or {})
        if request.method == "GET" and valid_pk(Notice, object_id):
            draft = Notice.objects.select_related("provider").filter(pk=object_id, status=NoticeStatus.DRAFT)
            if (notice := draft.first()) is not None:
                extra["preview"] = draft_preview(notice, now=timezone.now())
                named = notice.items.values_list("url_id", flat=True)
                if unverified := unverified_cases(named):
                    extra["unverified"] = unverified_error(unverified)["detail"][0]
        return super().change_view(request, object_id, form_url, extra)

    def send_view(self, request, pk: int):
        """The draft page's Send button (POST): the "Send" action's service for this one notice."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        notice = get_object_or_404(Notice, pk=pk)
        if not self.has_change_permission(request, notice):
            raise PermissionDenied
        if self._queue(request, [notice]):
            audit_request(request, action="admin.notice_send", obj=notice, data=self.audit_read_data(notice))
        return redirect("admin:notices_notice_change", pk)

    def _queue(self, request, notices) -> int:
        """Queue each notice through `queue_notice`; refusals are messages. Returns how many were queued."""
        sent = 0
        for notice in notices:
            try:
                queue_notice(notice=notice, now=timezone.now(), actor=f"user:{request.user.get_username()}")
                sent += 1
            except NoticeError as exc:
                self.message_user(
                    request, f"{notice.reference}: {exc.errors['detail'][0]}", level=messages.ERROR
                )
        if sent:
            self.message_user(request, f"Queued {sent} notice(s) for delivery.")
        return sent

    def has_add_permission(self, request) -> bool:
        return False  # notices are created from URLs (admin action or API), one per provider

    def audit_read_data(self, obj: Notice) -> dict:
        return {"urls": sorted(obj.items.values_list("url_id", flat=True))}

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a notice is withdrawn (an action, with its reason), never deleted, even by a superuser

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Notice) -> str:
        return badge(obj.status, obj.get_status_display())

    @admin.action(description="Send (queue in the outbox)", permissions=["change"])
    def send_notices(self, request, queryset) -> None:
        self._queue(request, queryset)

    @admin.action(description="Withdraw notices (with a reason)", permissions=["change"])
    def withdraw_notices(self, request, queryset):
        def withdraw_one(notice: Notice, data: dict) -> None:
            withdraw(
                notices=[notice],
                reason=data["reason"],
                note=data["note"],
                now=timezone.now(),
                user=request.user,
            )

        return reason_step(
            self,
            request,
            queryset,
            form_class=WithdrawNoticesForm,
            title="Withdraw notices",
            button="Withdraw these notices",
            apply=withdraw_one,
            done="Withdrew {count} notice(s): unsent mail cancelled, the provider sees them as withdrawn.",
        )


@admin.register(OutgoingMessage)
class OutgoingMessageAdmin(AuditedReadsMixin, SystemRecordAdmin):
    """A notice mail (its text names the URLs): reading it writes `mail.view` with the notice's reference."""

    audit_read = "mail.view"
    list_display = [
        "message_id",
        "notice",
        "status",
        "attempts",
        "duplicates",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status"]
    search_fields = ["message_id", "notice__reference"]
    exclude = ["mime", "html"]  # the text body says what the HTML part says
    readonly_fields = [
        "notice",
        "message_id",
        "recipients",
        "subject",
        "text",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_until",
        "claimed_by",
        "in_doubt_since",
        "duplicates",
        "last_error",
        "created_at",
        "sent_at",
    ]

    def audit_read_data(self, obj: OutgoingMessage) -> dict:
        if obj.notice is None:  # a hand-off to a partner hotline
            return {"urls": obj.url_ids or []}
        return {"references": [obj.notice.reference]}


@admin.register(ProviderResponse)
class ProviderResponseAdmin(SystemRecordAdmin):
    list_display = ["notice", "action", "created_at", "user", "api_key"]
    list_filter = ["action"]
    readonly_fields = [
        "notice",
        "action",
        "urls",
        "message",
        "statement_of_reasons",
        "user",
        "api_key",
        "created_at",
    ]


@admin.register(ApiKey)
class ApiKeyAdmin(ReauthRequiredMixin, TrackerModelAdmin):
    """Keys are revoked here (after a re-authentication), never created: see `has_add_permission`. A key's
    own request rate is set here too (empty: API_THROTTLE_RATE); a value the limiter cannot read is a form
    error (the model's validator)."""

    list_display = [
        "prefix",
        "name",
        "scope",
        "partner",
        "provider",
        "user",
        "rate_shown",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["scope"]
    readonly_fields = [
        "prefix",
        "key_hash",
        "scope",
        "partner",
        "provider",
        "user",
        "created_at",
        "last_used_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # keys are created with `manage.py create_api_key` (shown once) or in the portal

    @admin.display(description="Rate", ordering="rate")
    def rate_shown(self, obj: ApiKey) -> str:
        return obj.rate or f"{settings.API_THROTTLE_RATE} (API_THROTTLE_RATE)"

    @admin.action(description="Revoke", permissions=["change"])
    def revoke(self, request, queryset) -> None:
        count = queryset.filter(revoked_at=None).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).")
