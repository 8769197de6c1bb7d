"""Intake: partners, reports and the URL case they name."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from notices.canonical import defang
from notices.enums import UrlStatus
from notices.models.choices import COUNTRY_CHOICES, country_constraint


class Partner(models.Model):
    """A partner hotline or reporting system that submits reports through the API with a key."""

    name = models.CharField(max_length=200, unique=True)
    country = models.CharField(
        max_length=2, blank=True, choices=COUNTRY_CHOICES, help_text="ISO 3166-1 alpha-2."
    )
    receives_handoffs = models.BooleanField(
        default=False, help_text="A partner hotline that takes over content hosted in its country (routing)."
    )
    handoff_email = models.EmailField(blank=True)
    language = models.CharField(
        max_length=8,
        blank=True,
        default="",
        db_default="",  # rows written by raw SQL (the write-behind tests) get it too
        choices=settings.LANGUAGES,
        help_text="The language its hand-off mails are written in (blank: English).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [country_constraint("country", "partner_country_iso")]

    def __str__(self) -> str:
        return self.name


class Url(models.Model):
    """One case: one canonical URL, however many reports name it.

    Timestamps stamp each stage; the removal interval and TTR bounds are written when removal is confirmed.
    """

    original = models.TextField(help_text="The URL as first reported.")
    canonical = models.TextField()
    # Dedupe on intake; NULL once purged (a later report of the same URL opens a new case).
    canonical_hash = models.BinaryField(max_length=32, unique=True, null=True, editable=False)
    host = models.CharField(max_length=255)
    status = models.CharField(max_length=24, choices=UrlStatus.choices, default=UrlStatus.NEW)

    current_assessment = models.ForeignKey(
        "notices.Assessment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    current_trace = models.ForeignKey(
        "notices.HostingTrace", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    provider = models.ForeignKey(
        "notices.HostingProvider", null=True, blank=True, on_delete=models.SET_NULL, related_name="urls"
    )
    # Recorded when the first notice is sent: statistics group by who hosted it then (INTERFACES.md).
    provider_at_notice = models.ForeignKey(
        "notices.HostingProvider", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    asn_at_notice = models.BigIntegerField(null=True, blank=True)
    country_at_notice = models.CharField(max_length=2, blank=True)
    notice_type_at_notice = models.CharField(max_length=24, blank=True)

    first_reported_at = models.DateTimeField()
    assessed_at = models.DateTimeField(null=True, blank=True)
    traced_at = models.DateTimeField(null=True, blank=True)
    first_notice_sent_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="Closed by an analyst (status closed).")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    last_live_at = models.DateTimeField(null=True, blank=True)
    first_gone_at = models.DateTimeField(null=True, blank=True, help_text="First gone of the current run.")
    last_gone_at = models.DateTimeField(null=True, blank=True, help_text="Last gone counted in the run.")
    first_gone_vantage = models.CharField(
        max_length=100, blank=True, help_text="Vantage point of the run's first gone."
    )
    consecutive_gone = models.PositiveIntegerField(default=0)
    removal_confirmed_at = models.DateTimeField(null=True, blank=True)
    removed_low = models.DateTimeField(null=True, blank=True, help_text="Last live observation.")
    removed_high = models.DateTimeField(null=True, blank=True, help_text="First gone observation of the run.")
    ttr_low = models.BigIntegerField(
        null=True, blank=True, help_text="Seconds: last live − first notice sent."
    )
    ttr_high = models.BigIntegerField(
        null=True, blank=True, help_text="Seconds: first gone − first notice sent."
    )
    reappearance_count = models.PositiveIntegerField(default=0)
    le_referred_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Referred to law enforcement (content hosted in the hotline's country).",
    )
    handed_off_to = models.ForeignKey(
        Partner,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="handoffs",
        help_text="Partner hotline the case was handed off to (its country's hotline).",
    )

    next_check_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the checker should look next (mirrored into the due-check queue).",
    )
    next_escalation_at = models.DateTimeField(
        null=True, blank=True, help_text="When the next escalation step is due."
    )
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    purged_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The retention purge removed the URL (strings, hashes, notes); the statistics stay.",
    )

    class Meta:
        verbose_name = "URL"
        verbose_name_plural = "URLs"
        indexes = [
            # No index on next_check_at: the due-check sweep reads DueCheck (a trigger mirrors the column
            # there), so recording a check changes no indexed column here and PostgreSQL updates the row in
            # place (HOT) instead of adding an entry to every index of this wide table.
            # Escalation sweep: WHERE next_escalation_at <= now (partial: only cases with a step ahead).
            models.Index(
                fields=["next_escalation_at"],
                name="url_due_escalation_idx",
                condition=models.Q(next_escalation_at__isnull=False),
            ),
            # URL list filtered by status, newest first (admin queue, GET /api/v1/urls/?status=).
            models.Index(fields=["status", "-id"], name="url_status_idx"),
            # GET /api/v1/urls/?provider= and per-provider views.
            models.Index(fields=["provider", "-id"], name="url_provider_idx"),
            # TTR statistics: removed cases grouped by provider at notice time.
            models.Index(
                fields=["provider_at_notice", "first_notice_sent_at"], name="url_stats_provider_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"purged (URL {self.pk})" if self.purged_at else defang(self.canonical)


class Report(models.Model):
    """One report naming a URL. Reporter identity is never stored beyond the submitting partner/user."""

    url = models.ForeignKey(Url, on_delete=models.CASCADE, related_name="reports")
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    original_url = models.TextField()
    reported_at = models.DateTimeField()
    received_at = models.DateTimeField()
    external_ref = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    hashes = models.JSONField(default=list, blank=True)
    receipt = models.CharField(max_length=40, unique=True)  # partners quote it later
    duplicate = models.BooleanField(default=False)

    class Meta:
        indexes = [
            # URL detail: reports of one URL in order.
            models.Index(fields=["url", "received_at"], name="report_url_idx"),
        ]

    def __str__(self) -> str:
        return self.receipt
