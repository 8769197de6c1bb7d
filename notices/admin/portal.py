"""Admin for the provider portal: invitations (supervisors), provider questions and the analysts' replies."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from notices.admin.common import SystemRecordAdmin, TrackerModelAdmin, valid_pk
from notices.enums import ResponseAction
from notices.models import (
    AnalystReply,
    Invitation,
    Notice,
    ProviderQuestion,
    WebhookDelivery,
    WebhookEndpoint,
)
from notices.services import portal_accounts
from notices.services.threads import ThreadError, notice_thread, reply_to_provider


@admin.register(Invitation)
class InvitationAdmin(TrackerModelAdmin):
    """Supervisors invite a provider's first users here; the provider's portal admins invite the rest."""

    list_display = ["email", "provider", "is_admin", "created_at", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["provider"]
    search_fields = ["email", "provider__name"]
    autocomplete_fields = ["provider"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["provider", "email", "is_admin"]
        return [
            "provider",
            "email",
            "is_admin",
            "invited_by",
            "created_at",
            "expires_at",
            "accepted_at",
            "accepted_user",
            "revoked_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj else []

    def save_model(self, request, obj, form, change) -> None:
        """Create through the service: it stores only the token's hash and mails the link."""
        if change:
            return
        try:
            sent = portal_accounts.invite_user(
                provider=obj.provider,
                email=obj.email,
                is_admin=obj.is_admin,
                invited_by=request.user,
                now=timezone.now(),
            )
        except portal_accounts.AccountError as exc:
            messages.error(request, str(exc))
            obj.pk = None
            return
        obj.pk = sent.invitation.pk
        obj.refresh_from_db()

    def response_add(self, request, obj, post_url_continue=None):
        if obj.pk is None:
            return self.response_post_save_add(request, obj)
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description="Withdraw selected invitations", permissions=["change"])
    def revoke(self, request, queryset) -> None:
        count = queryset.filter(accepted_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        self.message_user(request, f"{count} invitation(s) withdrawn.")


@admin.register(ProviderQuestion)
class ProviderQuestionAdmin(SystemRecordAdmin):
    """The analysts' queue of "need more information" answers, unanswered first."""

    list_display = ["notice", "provider", "created_at", "question", "answered", "reply"]
    list_filter = ["notice__provider"]
    search_fields = ["notice__reference", "message"]
    list_select_related = ["notice__provider"]

    def get_queryset(self, request):
        later_reply = AnalystReply.objects.filter(
            notice=OuterRef("notice"), created_at__gte=OuterRef("created_at")
        )
        return (
            super()
            .get_queryset(request)
            .filter(action=ResponseAction.NEED_INFO)
            .annotate(has_reply=Exists(later_reply))
            .order_by("has_reply", "-created_at")
        )

    @admin.display(description="Provider")
    def provider(self, obj) -> str:
        return obj.notice.provider.name

    @admin.display(description="Question")
    def question(self, obj) -> str:
        return obj.message[:200]

    @admin.display(description="Answered", boolean=True, ordering="has_reply")
    def answered(self, obj) -> bool:
        return obj.has_reply

    @admin.display(description="")
    def reply(self, obj) -> str:
        url = reverse("admin:notices_analystreply_add") + f"?notice={obj.notice_id}"
        return format_html('<a class="button" href="{}">Reply</a>', url)


@admin.register(AnalystReply)
class AnalystReplyAdmin(TrackerModelAdmin):
    """Replies go through `reply_to_provider` (event + mail to the provider's users); they are not edited."""

    list_display = ["notice", "author", "created_at", "body"]
    search_fields = ["notice__reference", "body"]
    raw_id_fields = ["notice"]
    fields = ["notice", "body"]
    change_form_template = "admin/notices/analystreply/change_form.html"

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def add_view(self, request, form_url="", extra_context=None):
        wanted = request.GET.get("notice") or request.POST.get("notice") or "0"
        notice = Notice.objects.filter(pk=wanted).first() if valid_pk(Notice, wanted) else None
        extra = {"thread": notice_thread(notice) if notice else [], "thread_notice": notice}
        return super().add_view(request, form_url, {**(extra_context or {}), **extra})

    def save_model(self, request, obj, form, change) -> None:
        try:
            reply = reply_to_provider(
                notice=obj.notice, author=request.user, body=obj.body, now=timezone.now()
            )
        except ThreadError as exc:
            messages.error(request, str(exc))
            return
        obj.pk = reply.pk
        obj.refresh_from_db()


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TrackerModelAdmin):
    list_display = ["provider", "url", "is_active", "created_at"]
    list_filter = ["is_active"]
    exclude = ["secret"]
    readonly_fields = ["provider", "url", "created_at", "created_by"]

    def has_add_permission(self, request) -> bool:
        return False  # providers register their own URL in the portal


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(SystemRecordAdmin):
    list_display = [
        "notice",
        "endpoint",
        "status",
        "attempts",
        "duplicates",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
