"""What a provider sees of a notice, in one shape for the provider API and the webhook body (which must match
`GET /api/v1/provider/notices/{reference}/` exactly)."""

from __future__ import annotations

from rest_framework import serializers

from notices.canonical import defang
from notices.enums import ItemStatus, NoticeStatus, NoticeType, ResponseAction
from notices.models import HostingProvider, Notice, ProviderResponse


class ProviderSerializer(serializers.ModelSerializer):
    is_eu = serializers.BooleanField(read_only=True)

    class Meta:
        model = HostingProvider
        fields = ["id", "slug", "name", "country", "is_eu", "language", "time_zone", "channel"]


class NoticeItemSerializer(serializers.Serializer):
    url_id = serializers.IntegerField()
    canonical = serializers.CharField(source="url.canonical")
    defanged = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=ItemStatus.choices)
    last_outcome = serializers.CharField(source="url.last_outcome")
    last_checked_at = serializers.DateTimeField(source="url.last_checked_at")
    withdrawn = serializers.SerializerMethodField(
        help_text="The hotline no longer asks for this URL: its case was closed, or the notice withdrawn."
    )

    def get_defanged(self, item) -> str:
        return defang(item.url.canonical)

    def get_withdrawn(self, item) -> bool:
        return item_withdrawn(item)


def item_withdrawn(item) -> bool:
    """An item closed by the hotline (case closed, notice withdrawn) rather than by a confirmed removal."""
    return not item.is_open and item.status != ItemStatus.REMOVED


class ResponseSerializer(serializers.ModelSerializer):
    action = serializers.ChoiceField(choices=ResponseAction.choices)
    urls = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = ProviderResponse
        fields = ["id", "action", "urls", "message", "statement_of_reasons", "created_at"]


class NoticeSerializer(serializers.ModelSerializer):
    provider = ProviderSerializer(read_only=True)
    status = serializers.ChoiceField(choices=NoticeStatus.choices)
    notice_type = serializers.ChoiceField(choices=NoticeType.choices)
    items = NoticeItemSerializer(many=True, read_only=True)
    responses = ResponseSerializer(many=True, read_only=True)

    class Meta:
        model = Notice
        fields = [
            "reference",
            "provider",
            "notice_type",
            "status",
            "language",
            "deadline_at",
            "created_at",
            "queued_at",
            "sent_at",
            "acknowledged_at",
            "closed_at",
            "withdrawn_at",
            "items",
            "responses",
        ]
