"""Provider portal: accounts (TOTP, language), sign-in attempts, invitations, the analyst's replies,
webhooks."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from notices.enums import SignInOutcome
from notices.models.choices import language_constraint
from notices.models.notice import ProviderResponse

# The outcomes the sign-in limits count as failures (a pending attempt only until it times out).
COUNTED = [SignInOutcome.FAILED, SignInOutcome.PENDING]


class PortalAccount(models.Model):
    """A user's sign-in state: the TOTP second factor (optional for provider users, mandatory for staff:
    notices.services.second_factor) and the portal language preference (sign-in limits: LoginAttempt)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_account"
    )
    totp_secret = models.CharField(max_length=64, blank=True, help_text="Base32; set while enrolling.")
    totp_enabled_at = models.DateTimeField(null=True, blank=True)
    totp_last_step = models.BigIntegerField(
        null=True, blank=True, help_text="Last accepted time step (replay)."
    )
    language = models.CharField(
        max_length=8, blank=True, choices=settings.LANGUAGES, help_text="Empty: the provider's language."
    )

    class Meta:
        constraints = [language_constraint("language", "portal_account_language", blank=True)]

    def __str__(self) -> str:
        return f"portal account of {self.user}"

    @property
    def totp_enabled(self) -> bool:
        return self.totp_enabled_at is not None


class LoginAttempt(models.Model):
    """Every sign-in attempt on every login form (staff admin and portal). The sign-in limits
    (notices/services/signin.py) count these rows, so every web process enforces the same limits."""

    at = models.DateTimeField()
    username = models.CharField(
        max_length=150, help_text="As typed; unknown names are counted like known ones."
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    client = models.CharField(
        max_length=45, blank=True, help_text="What the limits count: the IPv4 address, or the IPv6 /64."
    )
    outcome = models.CharField(max_length=10, choices=SignInOutcome.choices, default=SignInOutcome.PENDING)

    class Meta:
        indexes = [
            # One name from one client: its failures since its last success, and that success.
            models.Index(fields=["username", "client", "at"], name="login_attempt_pair_idx"),
            # One client, every name; one name, every client: the failures in a window.
            models.Index(
                fields=["client", "at"],
                name="login_attempt_client_idx",
                condition=models.Q(outcome__in=COUNTED),
            ),
            models.Index(
                fields=["username", "at"],
                name="login_attempt_name_idx",
                condition=models.Q(outcome__in=COUNTED),
            ),
            models.Index(fields=["at"], name="login_attempt_at_idx"),  # the purge
        ]

    def __str__(self) -> str:
        return f"{self.username} {self.outcome} @ {self.at:%Y-%m-%d %H:%M:%S}"


class Invitation(models.Model):
    """An e-mailed invitation to join a provider's portal; the link sets the password on first visit."""

    provider = models.ForeignKey(
        "notices.HostingProvider", on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    is_admin = models.BooleanField(default=False, help_text="May invite colleagues and manage API keys.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)  # SHA-256 of the link's token
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Team page: a provider's invitations, newest first.
            models.Index(fields=["provider", "-created_at"], name="invitation_provider_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.provider}"


class AnalystReply(models.Model):
    """The hotline's answer in a notice's message thread ("need more information" and follow-ups)."""

    notice = models.ForeignKey("notices.Notice", on_delete=models.CASCADE, related_name="analyst_replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "analyst replies"
        indexes = [models.Index(fields=["notice", "created_at"], name="analyst_reply_notice_idx")]  # thread

    def __str__(self) -> str:
        return f"reply on {self.notice_id} @ {self.created_at:%Y-%m-%d %H:%M}"


class WebhookEndpoint(models.Model):
    """A provider's URL that receives each new notice as signed JSON (HMAC-SHA256 with `secret`)."""

    provider = models.ForeignKey("notices.HostingProvider", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=2000)
    secret = models.CharField(max_length=100, help_text="Signing key; the provider verifies with it.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"webhook of {self.provider}"


class WebhookDelivery(models.Model):
    """One notice to one endpoint. Written before sending; retries live here (`next_attempt_at`), not in the
    broker; the unique constraint means a notice is offered to an endpoint once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed permanently"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    notice = models.ForeignKey("notices.Notice", on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(
        "notices.StepRun",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_deliveries",
        help_text="A repeat notice made available to an API-only provider (event notice.reminder).",
    )
    item = models.ForeignKey(
        "notices.NoticeItem",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The notice's item superseded by a hop (event notice.superseded).",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
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
        help_text="An attempt sent the request and no answer was recorded (under way, or its worker died).",
    )
    duplicates = models.PositiveIntegerField(
        default=0,
        db_default=0,
        help_text="Deliveries sent again after an attempt left in doubt (same X-Takedown-Delivery id).",
    )
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # A notice is offered once per endpoint, each of its repeats once, each superseded item once.
            models.UniqueConstraint(
                fields=["endpoint", "notice"],
                condition=models.Q(run__isnull=True, item__isnull=True),
                name="webhook_delivery_once",
            ),
            models.UniqueConstraint(
                fields=["endpoint", "item"],
                condition=models.Q(item__isnull=False),
                name="webhook_superseded_once",
            ),
            models.UniqueConstraint(
                fields=["endpoint", "run"],
                condition=models.Q(run__isnull=False),
                name="webhook_reminder_once",
            ),
        ]
        indexes = [
            # Delivery sweep: WHERE status = 'pending' AND next_attempt_at <= now.
            models.Index(
                fields=["next_attempt_at"], name="webhook_due_idx", condition=models.Q(status="pending")
            ),
            # Backlog and age of the oldest undelivered (/metrics, manage.py doctor).
            models.Index(
                fields=["created_at"],
                name="webhook_unsent_idx",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.notice_id} → {self.endpoint_id} ({self.status})"


class ProviderQuestion(ProviderResponse):
    """The "need more information" answers: the analysts' queue of provider questions (admin)."""

    class Meta:
        proxy = True
        verbose_name = "provider question"

    def __str__(self) -> str:
        return f"question on {self.notice}"
