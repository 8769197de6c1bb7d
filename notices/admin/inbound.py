"""Admin for received mail: replies, auto-replies and bounces, shown as escaped text, never as HTML."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from notices.admin.common import ReadOnlyInline, SystemRecordAdmin
from notices.models import InboundMessage


def _text_pre(obj: InboundMessage) -> str:
    # format_html escapes the text: a reply is shown exactly as written, never rendered.
    return format_html('<pre class="inbound-text">{}</pre>', obj.text)


class InboundMessageInline(ReadOnlyInline, admin.TabularInline):
    """On the notice page: what the provider (or its mail system) wrote back."""

    model = InboundMessage
    fields = ["received_at", "kind", "from_address", "subject", "provider_ticket", "text_excerpt"]
    readonly_fields = fields
    ordering = ["received_at"]
    show_change_link = True

    @admin.display(description="Text")
    def text_excerpt(self, obj: InboundMessage) -> str:
        return obj.text[:300]  # plain string: the admin escapes it


@admin.register(InboundMessage)
class InboundMessageAdmin(SystemRecordAdmin):
    list_display = ["received_at", "kind", "notice", "from_address", "subject"]
    list_filter = ["kind"]
    list_select_related = ["notice"]
    search_fields = ["message_id", "from_address", "subject", "notice__reference", "provider_ticket"]
    date_hierarchy = "received_at"
    fields = [
        "received_at",
        "kind",
        "notice",
        "from_address",
        "subject",
        "message_id",
        "provider_ticket",
        "bounced_recipients",
        "bounce_status",
        "bounce_diagnostic",
        "raw_size",
        "text_pre",
    ]
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description="Text")
    def text_pre(self, obj: InboundMessage) -> str:
        return _text_pre(obj)
