"""What a provider sees of a notice, in one shape for the provider API and the webhook body (which must match
`GET /api/v1/provider/notices/{reference}/` exactly)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from notices.canonical import defang
from notices.enums import (
    ItemStatus,
    NoticeStatus,
    NoticeType,
    ResponseAction,
    StepAction,
    StepRunStatus,
    SupersededReason,
)
from notices.models import HostingProvider, Notice, NoticeItem, ProviderResponse, StepRun


class ProviderSerializer(serializers.ModelSerializer):
    is_eu = serializers.BooleanField(read_only=True)

    class Meta:
        model = HostingProvider
        fields = ["id", "slug", "name", "country", "is_eu", "language", "time_zone", "channel"]


class NullWhenBlank(serializers.ChoiceField):
    """A choice stored as "" when there is none, shown as null."""

    def to_representation(self, value):
        return super().to_representation(value) if value else None


class NoticeItemSerializer(serializers.Serializer):
    url_id = serializers.IntegerField()
    canonical = serializers.CharField(source="url.canonical")
    defanged = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=ItemStatus.choices)
    last_outcome = serializers.CharField(source="url.last_outcome")
    last_checked_at = serializers.DateTimeField(source="url.last_checked_at", allow_null=True)
    withdrawn = serializers.SerializerMethodField(
        help_text="The hotline no longer asks for it: its case was closed, the notice withdrawn, or the "
        "notice superseded for it."
    )
    superseded_at = serializers.DateTimeField(
        allow_null=True,
        read_only=True,
        help_text="When this notice was superseded for the URL: the content moved to another network (null: "
        "not superseded).",
    )
    superseded_reason = NullWhenBlank(
        choices=SupersededReason.choices,
        allow_null=True,
        read_only=True,
        help_text="Why: `hop` (a check found the content answering from another network after the notice), "
        "`moved_before_send` (it had moved before the notice went out); null when not superseded.",
    )

    def get_defanged(self, item) -> str:
        return defang(item.url.canonical)

    def get_withdrawn(self, item) -> bool:
        return item_withdrawn(item)


def item_withdrawn(item) -> bool:
    """An item closed by the hotline (case closed, notice withdrawn) rather than by a confirmed removal."""
    return not item.is_open and item.status != ItemStatus.REMOVED


class SupersededSerializer(serializers.ModelSerializer):
    """The item of a `notice.superseded` webhook event: the URL the notice no longer asks for, when and
    why."""

    superseded_reason = serializers.ChoiceField(choices=SupersededReason.choices)

    class Meta:
        model = NoticeItem
        fields = ["url_id", "superseded_at", "superseded_reason"]


class ResponseSerializer(serializers.ModelSerializer):
    action = serializers.ChoiceField(choices=ResponseAction.choices)
    urls = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = ProviderResponse
        fields = ["id", "action", "urls", "message", "statement_of_reasons", "created_at"]


class ReminderSerializer(serializers.ModelSerializer):
    """A repeat of the notice the provider was given: `made_available_at` is when it was in the portal and
    the API (and queued for mail to an e-mail provider); `delivered_at` when the mail server accepted it, or
    the same as `made_available_at` for API pickup."""

    made_available_at = serializers.DateTimeField(source="performed_at")
    urls = serializers.SerializerMethodField()

    class Meta:
        model = StepRun
        fields = ["occurrence", "made_available_at", "delivered_at", "urls"]

    def get_urls(self, run) -> list[int]:
        return sorted(case.url_id for case in run.cases.all())


def reminders(notice: Notice) -> list[StepRun]:
    """The notice's repeats that reached the provider's side (from a `step_runs__cases` prefetch, if any)."""
    runs = (
        notice.step_runs.all()
        if "step_runs" in getattr(notice, "_prefetched_objects_cache", {})
        else (notice.step_runs.prefetch_related("cases"))
    )
    made = [run for run in runs if run.action == StepAction.REPEAT_NOTICE and run.performed_at is not None]
    return sorted((run for run in made if run.status in MADE_AVAILABLE), key=lambda run: run.pk)


MADE_AVAILABLE = (StepRunStatus.QUEUED, StepRunStatus.DONE)


class NoticeSerializer(serializers.ModelSerializer):
    provider = ProviderSerializer(read_only=True)
    status = serializers.ChoiceField(choices=NoticeStatus.choices)
    notice_type = serializers.ChoiceField(choices=NoticeType.choices)
    items = NoticeItemSerializer(many=True, read_only=True)
    responses = ResponseSerializer(many=True, read_only=True)
    reminders = serializers.SerializerMethodField()

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
            "reminders",
        ]

    @extend_schema_field(ReminderSerializer(many=True))
    def get_reminders(self, notice) -> list[dict]:
        return ReminderSerializer(reminders(notice), many=True).data
