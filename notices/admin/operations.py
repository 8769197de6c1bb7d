"""Admin for notices, the outbox, provider responses, API keys and the audit log."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone

from notices.admin.common import ReadOnlyInline, SystemRecordAdmin, TrackerModelAdmin, badge, defanged
from notices.admin.inbound import InboundMessageInline
from notices.errors import NoticeError
from notices.models import (
    ApiKey,
    AuditEvent,
    Event,
    Notice,
    NoticeItem,
    OutgoingMessage,
    ProviderResponse,
    StepRun,
)
from notices.selectors.timeline import event_text
from notices.services.notices import queue_notice


class NoticeItemInline(ReadOnlyInline, admin.TabularInline):
    model = NoticeItem
    fields = ["url_link", "status", "reported_removed_at", "removed_at"]
    readonly_fields = fields

    @admin.display(description="URL")
    def url_link(self, obj: NoticeItem) -> str:
        return defanged(obj.url.canonical)


class MessageInline(ReadOnlyInline, admin.TabularInline):
    model = OutgoingMessage
    fields = ["message_id", "recipients", "status", "attempts", "next_attempt_at", "sent_at", "last_error"]
    readonly_fields = fields


class ResponseInline(ReadOnlyInline, admin.TabularInline):
    model = ProviderResponse
    fields = ["created_at", "action", "message", "user", "api_key"]
    readonly_fields = fields


class NoticeEventInline(ReadOnlyInline, admin.TabularInline):
    model = Event
    fields = ["at", "kind", "what", "url", "actor"]
    readonly_fields = fields
    ordering = ["at", "pk"]
    verbose_name_plural = "timeline"

    @admin.display(description="What happened")
    def what(self, obj: Event) -> str:
        return event_text(obj)


class StepRunInline(ReadOnlyInline, admin.TabularInline):
    """The escalation steps taken for the notice and where each delivery stands."""

    model = StepRun
    fields = ["created_at", "action", "occurrence", "status", "target", "delivered_at", "next_attempt_at"]
    readonly_fields = fields
    ordering = ["created_at", "pk"]
    verbose_name_plural = "escalation steps"


@admin.register(Notice)
class NoticeAdmin(TrackerModelAdmin):
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
    ]
    inlines = [
        NoticeItemInline,
        MessageInline,
        InboundMessageInline,
        ResponseInline,
        StepRunInline,
        NoticeEventInline,
    ]
    actions = ["send_notices"]

    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False  # notices are created from URLs (admin action or API), one per provider

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Notice) -> str:
        return badge(obj.status, obj.get_status_display())

    @admin.action(description="Send (queue in the outbox)")
    def send_notices(self, request, queryset) -> None:
        sent = 0
        for notice in queryset:
            try:
                queue_notice(notice=notice, now=timezone.now(), actor=f"user:{request.user.get_username()}")
                sent += 1
            except NoticeError as exc:
                self.message_user(
                    request, f"{notice.reference}: {exc.errors['detail'][0]}", level=messages.ERROR
                )
        if sent:
            self.message_user(request, f"Queued {sent} notice(s) for delivery.")


@admin.register(OutgoingMessage)
class OutgoingMessageAdmin(SystemRecordAdmin):
    list_display = ["message_id", "notice", "status", "attempts", "next_attempt_at", "sent_at", "last_error"]
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
        "last_error",
        "created_at",
        "sent_at",
    ]


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
class ApiKeyAdmin(TrackerModelAdmin):
    list_display = [
        "prefix",
        "name",
        "scope",
        "partner",
        "provider",
        "user",
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

    @admin.action(description="Revoke")
    def revoke(self, request, queryset) -> None:
        count = queryset.filter(revoked_at=None).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).")


@admin.register(AuditEvent)
class AuditEventAdmin(SystemRecordAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_id", "ip"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor", "object_id"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
