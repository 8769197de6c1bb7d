"""Mail received from providers: replies, auto-replies and bounces to notice mails, kept as plain text."""

from __future__ import annotations

from django.db import models

# Stored text is capped: an analyst reads a reply, not an archive of attachments or quoted threads.
INBOUND_TEXT_LIMIT = 20_000


class InboundMessage(models.Model):
    """One received mail, matched to a notice where possible. Never holds HTML: text only."""

    class Kind(models.TextChoices):
        REPLY = "reply", "Reply"
        AUTO_REPLY = "auto_reply", "Auto-reply"
        BOUNCE = "bounce", "Bounce"
        UNMATCHED = "unmatched", "Unmatched"

    received_at = models.DateTimeField()
    message_id = models.CharField(max_length=300, unique=True)  # re-ingesting the same mail is a no-op
    from_address = models.CharField(max_length=300, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    notice = models.ForeignKey(
        "notices.Notice", null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_messages"
    )
    provider_ticket = models.CharField(
        max_length=100, blank=True, help_text="The provider's own ticket number."
    )
    bounced_recipients = models.JSONField(default=list, blank=True)
    bounce_status = models.CharField(max_length=16, blank=True, help_text="DSN status code, e.g. 5.1.1.")
    bounce_diagnostic = models.TextField(blank=True)
    text = models.TextField(
        blank=True, help_text="Plain text; HTML-only mail is converted, never stored as HTML."
    )
    raw_size = models.PositiveIntegerField(default=0, help_text="Size of the received message in bytes.")

    class Meta:
        indexes = [
            # Notice page inline: WHERE notice_id = %s ORDER BY received_at.
            models.Index(fields=["notice", "received_at"], name="inbound_notice_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject or self.message_id}"
