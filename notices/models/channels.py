"""What the abuse-API channels filed: a row per request to a provider's API (`notices.delivery.channels`)."""

from __future__ import annotations

from django.db import models

from notices.enums import ChannelReportStatus, ContactChannel


class ChannelReport(models.Model):
    """One report filed with a provider's abuse API for an outbox message: a Cloudflare report (one hostname,
    at most 250 URLs), an AWS report (one URL's X-ARF), a webhook call. Written before it is sent; the
    provider's id (`remote_id`) is stored the moment it is accepted, in its own transaction, so a retry of
    the message never files it again. Status polling (AWS) is claimed through `next_poll_at`."""

    message = models.ForeignKey("notices.OutgoingMessage", on_delete=models.CASCADE, related_name="reports")
    notice = models.ForeignKey("notices.Notice", on_delete=models.CASCADE, related_name="channel_reports")
    channel = models.CharField(max_length=10, choices=ContactChannel.choices)
    position = models.PositiveIntegerField(help_text="Its place among the message's requests.")
    label = models.CharField(max_length=300, help_text="What it covers (a hostname, a URL id).")
    url_ids = models.JSONField(default=list, help_text="The URLs it names.")
    token = models.CharField(max_length=128, help_text="Idempotency / client token sent with it.")
    status = models.CharField(
        max_length=10, choices=ChannelReportStatus.choices, default=ChannelReportStatus.PENDING
    )
    remote_id = models.CharField(max_length=128, blank=True, help_text="The provider's id of the report.")
    accepted_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    remote_status = models.CharField(max_length=32, blank=True, help_text="As the provider last said.")
    reason_code = models.CharField(max_length=64, blank=True, help_text="The provider's outcome, once done.")
    next_poll_at = models.DateTimeField(null=True, blank=True)
    polls = models.PositiveIntegerField(default=0)
    polled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            # A message files each of its requests once.
            models.UniqueConstraint(fields=["message", "position"], name="channel_report_once"),
        ]
        indexes = [
            # Status poll sweep: WHERE next_poll_at <= now (only reports still waiting for an outcome).
            models.Index(
                fields=["next_poll_at"],
                name="channel_report_poll_idx",
                condition=models.Q(next_poll_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.remote_id or self.label}"
