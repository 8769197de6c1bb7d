"""Notices to providers, their URLs, the outbox and provider responses."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from notices.enums import (
    ContactChannel,
    ItemStatus,
    NoticeStatus,
    NoticeType,
    OutboxStatus,
    ResponseAction,
    SupersededReason,
)
from notices.models.choices import language_constraint


class Notice(models.Model):
    """One notice to one provider, naming one or more URLs."""

    reference = models.CharField(max_length=32, unique=True)  # TN-YYYY-NNNNNN
    provider = models.ForeignKey("notices.HostingProvider", on_delete=models.PROTECT, related_name="notices")
    notice_type = models.CharField(
        max_length=24, choices=NoticeType.choices, default=NoticeType.HOTLINE_NOTICE
    )
    status = models.CharField(max_length=16, choices=NoticeStatus.choices, default=NoticeStatus.DRAFT)
    language = models.CharField(max_length=8, default="en", choices=settings.LANGUAGES)
    deadline_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="Accepted by SMTP or made available.")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True, help_text="Withdrawn by the hotline.")
    provider_ticket = models.CharField(max_length=100, blank=True)
    purged_at = models.DateTimeField(
        null=True, blank=True, help_text="Its last URL was purged: the stored mails and messages went too."
    )

    class Meta:
        indexes = [
            # Provider portal / provider API: one provider's notices, newest first.
            models.Index(fields=["provider", "-id"], name="notice_provider_idx"),
            # Analyst list filtered by status.
            models.Index(fields=["status", "-id"], name="notice_status_idx"),
        ]
        constraints = [language_constraint("language", "notice_language_portal")]

    def __str__(self) -> str:
        return self.reference


class NoticeItem(models.Model):
    # No index of its own: the unique (notice, url) constraint leads with the notice.
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="items", db_index=False)
    url = models.ForeignKey("notices.Url", on_delete=models.CASCADE, related_name="notice_items")
    status = models.CharField(max_length=20, choices=ItemStatus.choices, default=ItemStatus.OPEN)
    provider_id_copy = models.BigIntegerField(
        editable=False, help_text="Provider of the notice (constraint)."
    )
    is_open = models.BooleanField(default=True, editable=False)
    reported_removed_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the notice stopped asking its provider for the URL because the content moved away.",
    )
    superseded_reason = models.CharField(
        max_length=20,
        blank=True,
        default="",
        db_default="",  # items written by INSERT … SELECT are not superseded
        editable=False,
        choices=SupersededReason.choices,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notice", "url"], name="item_unique_url"),
            # Superseded: a time and a reason, or neither.
            models.CheckConstraint(
                condition=models.Q(superseded_at__isnull=True, superseded_reason="")
                | (models.Q(superseded_at__isnull=False) & ~models.Q(superseded_reason="")),
                name="item_superseded_with_reason",
            ),
            # One URL never in two open notices to the same provider.
            models.UniqueConstraint(
                fields=["url", "provider_id_copy"],
                condition=models.Q(is_open=True),
                name="item_one_open_notice_per_provider",
            ),
        ]
        indexes = [
            # The "disputed" work queue: open items a provider disputed (few among millions).
            models.Index(
                fields=["url"],
                name="item_disputed_idx",
                condition=models.Q(is_open=True, status=ItemStatus.DISPUTED),
            ),
        ]

    def __str__(self) -> str:
        return f"Case {self.url_id} in notice {self.notice_id}"


class OutgoingMessage(models.Model):
    """Transactional outbox: written with the notice; a beat sweep claims and sends it. A hand-off of a case
    to a partner hotline (routing, before any notice) has no notice: it names its `partner` and the URLs."""

    notice = models.ForeignKey(
        Notice, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    partner = models.ForeignKey(
        "notices.Partner",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="A hand-off mail's partner hotline.",
    )
    message_id = models.CharField(max_length=200, unique=True)  # stable Message-ID: a resend is the same mail
    recipients = models.JSONField()
    subject = models.CharField(max_length=300)
    text = models.TextField(blank=True, help_text="The rendered plain-text body.")
    html = models.TextField(blank=True, help_text="The rendered HTML body.")
    mime = models.BinaryField(
        null=True,
        blank=True,
        help_text="The complete message as sent: assembled (attachments included) and stored at the first "
        "delivery attempt, then sent as it is.",
    )
    status = models.CharField(max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    channel = models.CharField(
        max_length=10,
        choices=ContactChannel.choices,
        default=ContactChannel.EMAIL,
        db_default=ContactChannel.EMAIL,  # the outbox's own INSERTs (unnest) leave it out
        help_text="What delivers it: SMTP, or a provider's abuse API (`notices.delivery.channels`).",
    )
    run = models.ForeignKey(
        "notices.StepRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
        help_text="The escalation step this mail delivers (a repeat notice, an upstream notice, a hand-off).",
    )
    url_ids = models.JSONField(
        null=True,
        blank=True,
        help_text="The URLs an escalation mail names (null: all of its notice's, as a notice mail).",
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="The claim's lease; its worker's heartbeat renews it while it lives."
    )
    claimed_by = models.CharField(
        max_length=200,
        blank=True,
        db_default="",  # rows written by INSERT … SELECT name no claimer
        help_text="The worker process holding the claim (host:pid:token).",
    )
    in_doubt_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="An attempt handed the mail to the server and no answer was recorded (under way, or its "
        "worker died): it may have gone out since then.",
    )
    duplicates = models.PositiveIntegerField(
        default=0,
        db_default=0,
        help_text="Copies sent again after an attempt left in doubt (a worker crash): the same mail, same "
        "Message-ID.",
    )
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="First acceptance by the mail server (or, after an attempt in doubt, the earliest moment "
        "that copy may have been accepted), recorded at once.",
    )

    class Meta:
        indexes = [
            # Outbox sweep: WHERE status = 'pending' AND next_attempt_at <= now.
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_due_idx",
                condition=models.Q(status="pending"),
            ),
            # Backlog and age of the oldest unsent mail (/metrics, manage.py doctor) without a scan of the
            # sent ones: WHERE status IN ('pending', 'sending'), min(created_at).
            models.Index(
                fields=["created_at"],
                name="outbox_unsent_idx",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return self.message_id


class ProviderResponse(models.Model):
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="responses")
    action = models.CharField(max_length=20, choices=ResponseAction.choices)
    urls = models.ManyToManyField("notices.Url", blank=True, related_name="+")
    message = models.TextField(blank=True)
    statement_of_reasons = models.JSONField(default=dict, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    api_key = models.ForeignKey("notices.ApiKey", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.notice_id}: {self.action}"
