"""Intake: partners, reports and the URL case they name."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from notices.canonical import defang
from notices.enums import HashAlgorithm, ReportChannel, UrlStatus
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
    webhook_url = models.URLField(
        max_length=2000,
        blank=True,
        db_default="",
        help_text="Optional: receives signed JSON when a case it reported is noticed, removed or closed.",
    )
    webhook_secret = models.CharField(
        max_length=100,
        blank=True,
        db_default="",
        help_text="Signing key of the webhook; the partner verifies with it.",
    )
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
    # The site the URL belongs to: its registrable domain by the Public Suffix List (private section too),
    # or the IP address. http/https/www variants and every URL of one site share it (notices.canonical).
    site = models.CharField(max_length=255, blank=True, default="", db_default="")
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
    trace_queued_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the trace sweep last queued a trace no other had reached (its claim: another sweep, "
        "a second beat, leaves the URL alone until TRACE_SWEEP_GRACE has passed).",
    )
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
    # The workbench (README "Assignment and the soft lock"): who works the case, who last had it open, and the
    # revision an analyst's change bumps (a form saved over a newer revision is refused).
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The analyst working the case.",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    worked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who last opened or changed the case (the soft lock).",
    )
    worked_at = models.DateTimeField(null=True, blank=True)
    revision = models.PositiveIntegerField(
        default=0, db_default=0, help_text="Bumped by each change an analyst makes."
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who made the last change (the revision).",
    )
    changed_at = models.DateTimeField(null=True, blank=True)
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
            # The admin's site view and site filter (?site=): every case of one site, newest first.
            models.Index(fields=["site", "-id"], name="url_site_idx"),
            # GET /api/v1/urls/?provider= and per-provider views.
            models.Index(fields=["provider", "-id"], name="url_provider_idx"),
            # TTR statistics: removed cases grouped by provider at notice time.
            models.Index(
                fields=["provider_at_notice", "first_notice_sent_at"], name="url_stats_provider_idx"
            ),
            # Admin search by host (notices/admin/queue.py: `host = …`, every case on a host).
            models.Index(fields=["host"], name="url_host_idx"),
            # "My cases": an analyst's assigned cases, newest first (partial: most cases are unassigned).
            models.Index(
                fields=["assigned_to", "-id"],
                name="url_assigned_idx",
                condition=models.Q(assigned_to__isnull=False),
            ),
            # The dashboard's removals of the last 30 days (set once per case: costs no HOT update of checks).
            models.Index(
                fields=["removal_confirmed_at"],
                name="url_removed_at_idx",
                condition=models.Q(removal_confirmed_at__isnull=False),
            ),
            # The "reappeared" work queue (few cases among millions).
            models.Index(
                fields=["status"], name="url_reappeared_idx", condition=models.Q(reappearance_count__gt=0)
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
    channel = models.CharField(
        max_length=10, choices=ReportChannel.choices, default=ReportChannel.API, db_default=ReportChannel.API
    )
    # Optional, public form only: personal data, never in a notice, an X-ARF report or the API; removed with
    # the case's other strings by the retention purge.
    reporter_email = models.EmailField(blank=True, default="", db_default="")

    class Meta:
        indexes = [
            # URL detail: reports of one URL in order.
            models.Index(fields=["url", "received_at"], name="report_url_idx"),
            # The "public reports" queue: cases with a report from the public form.
            models.Index(
                fields=["url"], name="report_public_idx", condition=models.Q(channel=ReportChannel.PUBLIC)
            ),
        ]

    def __str__(self) -> str:
        return self.receipt


class ImportRun(models.Model):
    """One import of an input by `manage.py import_reports`: how many of its lines are done, so that running
    the same input again resumes after the last committed line. `key` names the submitter, the format and
    the SHA-256 of the input's first MiB — only a candidate: several runs may share it (inputs with the same
    start, `--restart`). `consumed_sha256` / `consumed_bytes` are the SHA-256 and length of exactly the bytes
    of lines 1–`lines_done`, written with every batch; a resume goes on only when the lines it skips hash to
    them, and a finished run is "already done" only for an input that is all of those bytes and no more."""

    key = models.CharField(max_length=120, db_index=True)
    name = models.CharField(max_length=1000, help_text="The path as given; '-' for standard input.")
    format = models.CharField(max_length=8)
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    lines_done = models.PositiveBigIntegerField(default=0, help_text="Lines committed, from the first.")
    consumed_sha256 = models.CharField(
        max_length=64,
        blank=True,
        help_text="SHA-256 (hex) of the bytes of lines 1–lines_done; empty: unknown.",
    )
    consumed_bytes = models.PositiveBigIntegerField(default=0, help_text="Bytes of lines 1–lines_done.")
    accepted = models.PositiveBigIntegerField(default=0)
    rejected = models.PositiveBigIntegerField(default=0)
    started_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"import of {self.name}"


class IdempotentRequest(models.Model):
    """A report submission made with an `Idempotency-Key`: a retry with the same key and body gets the stored
    answer instead of new reports. Written in the transaction that records the reports."""

    owner = models.CharField(max_length=40, help_text="partner:ID or user:ID — keys are scoped per owner.")
    key = models.CharField(max_length=200)
    path = models.CharField(max_length=200)
    body_hash = models.CharField(max_length=64, help_text="SHA-256 of the request body.")
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="idempotent_request_once")]

    def __str__(self) -> str:
        return f"{self.owner} {self.key}"


class PartnerWebhookDelivery(models.Model):
    """One event of a case (noticed, removed, closed) to a partner that reported it. Written in the
    transaction that changes the case; sent by the webhook sweep with retries in the database."""

    class Event(models.TextChoices):
        NOTICED = "case.noticed", "Noticed"
        REMOVED = "case.removed", "Removed"
        CLOSED = "case.closed", "Closed"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed permanently"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="webhook_deliveries")
    url = models.ForeignKey(Url, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=20, choices=Event.choices)
    at = models.DateTimeField(help_text="When the case changed.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "partner webhook deliveries"
        constraints = [
            # Each event of a case is offered to a partner once (a reopened and reclosed case: once).
            models.UniqueConstraint(fields=["partner", "url", "event"], name="partner_webhook_once"),
        ]
        indexes = [
            # Delivery sweep: WHERE status = 'pending' AND next_attempt_at <= now.
            models.Index(
                fields=["next_attempt_at"],
                name="partner_webhook_due_idx",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} of URL {self.url_id} to {self.partner}"


class MediaHash(models.Model):
    """One hash value a report carried for one media item. Cases sharing a value show the same material
    (on other hosts or providers, too): the case page and the API list them."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="media_hashes")
    # Indexed by `mediahash_url_idx` below (named, for the query that needs it), not by a second index.
    url = models.ForeignKey(Url, on_delete=models.CASCADE, related_name="media_hashes", db_index=False)
    algorithm = models.CharField(max_length=10, choices=HashAlgorithm.choices)
    value = models.CharField(max_length=1024)

    class Meta:
        verbose_name_plural = "media hashes"
        indexes = [
            # Matching: the cases holding a value (WHERE algorithm = … AND value = …).
            models.Index(fields=["algorithm", "value"], name="mediahash_value_idx"),
            # A case's own values (the other side of the match).
            models.Index(fields=["url"], name="mediahash_url_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.value[:16]}"
