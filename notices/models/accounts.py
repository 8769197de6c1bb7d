"""API keys and staff recovery codes (stored hashed), the case timeline and the audit log.

The timeline (`Event`) and the audit log (`AuditEvent`) are append-only: a database trigger (migration 0025)
refuses every UPDATE and DELETE of their rows, for every database user and every code path, except the
retention purge's redaction of URL strings in `data` (`notices/services/retention.py`).
"""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import RegexValidator
from django.db import models

from notices.enums import KeyScope

# A key's own request rate, in API_THROTTLE_RATE's syntax (tracker/env.py `parse_rate` reads it): N requests
# (1 to 999,999,999) per second, minute, hour or day. The admin form and full_clean check it, and a check
# constraint refuses any other value in the database, so the limiter never meets a rate it cannot read.
KEY_RATE_PATTERN = r"^[1-9][0-9]{0,8}/(s|sec|second|m|min|minute|h|hour|d|day)$"
validate_key_rate = RegexValidator(
    KEY_RATE_PATTERN,
    "Enter a rate as N/s, N/min, N/hour or N/day (N a whole number from 1), e.g. 15000/min.",
)


class ApiKey(models.Model):
    """A bearer key. Only its SHA-256 is stored; the prefix finds the row, the hash proves the key."""

    name = models.CharField(max_length=200, blank=True)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64)
    scope = models.CharField(max_length=10, choices=KeyScope.choices)
    partner = models.ForeignKey("notices.Partner", null=True, blank=True, on_delete=models.CASCADE)
    provider = models.ForeignKey("notices.HostingProvider", null=True, blank=True, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    rate = models.CharField(
        max_length=20,
        blank=True,
        default="",
        validators=[validate_key_rate],
        help_text="This key's own request rate (N/s, N/min, N/hour or N/day), used instead of "
        "API_THROTTLE_RATE; empty: API_THROTTLE_RATE.",
    )

    class Meta:
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(
                name="apikey_rate_valid",
                condition=models.Q(rate="") | models.Q(rate__regex=KEY_RATE_PATTERN),
            ),
            models.CheckConstraint(
                name="apikey_owner_matches_scope",
                condition=(
                    models.Q(
                        scope__in=["partner", "blocklist", "blockurls"],
                        partner__isnull=False,
                        provider__isnull=True,
                        user__isnull=True,
                    )
                    | models.Q(
                        scope="provider", provider__isnull=False, partner__isnull=True, user__isnull=True
                    )
                    | models.Q(
                        scope__in=["user", "inbound"],
                        user__isnull=False,
                        partner__isnull=True,
                        provider__isnull=True,
                    )
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.scope})"


class RecoveryCode(models.Model):
    """A single-use code that stands in for the authenticator app at staff sign-in
    (notices.services.second_factor). Only its SHA-256 is stored; a used code keeps its row (`used_at`) until
    the set is renewed or the factor reset."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Also the index of the sign-in lookup: WHERE user_id = %s AND code_hash = %s AND used_at IS NULL.
            models.UniqueConstraint(fields=["user", "code_hash"], name="recovery_code_once"),
        ]

    def __str__(self) -> str:
        return f"recovery code of {self.user} ({'used' if self.used_at else 'unused'})"


class Event(models.Model):
    """Timeline row written by every state change (one service function per transition). Append-only."""

    kind = models.CharField(max_length=40)
    at = models.DateTimeField()
    # No single-column indexes: event_url_idx (url, at) and event_notice_idx (notice, at) serve every lookup.
    url = models.ForeignKey(
        "notices.Url", null=True, blank=True, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    notice = models.ForeignKey(
        "notices.Notice",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,
    )
    actor = models.CharField(max_length=200, blank=True, help_text="user:NAME, key:PREFIX, or system.")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            # Timelines on the URL and notice pages.
            models.Index(fields=["url", "at"], name="event_url_idx"),
            models.Index(fields=["notice", "at"], name="event_notice_idx"),
            # The dashboard's recent events; the event list filtered by kind, newest first (and its choices,
            # read by skipping through this index).
            models.Index(fields=["-at", "-id"], name="event_recent_idx"),
            models.Index(fields=["kind", "-id"], name="event_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.at:%Y-%m-%d %H:%M:%S}"


class AuditEvent(models.Model):
    """Who read or did what sensitive thing, when and from where: reads of URLs (pages, API details and
    lists), exports, and the changes people make (admin saves and actions, staff API writes). Append-only.

    A row about one object names it (`object_type`, `object_id`: a URL's id, a notice's reference); a list or
    an action over many rows lists the URL ids it showed or touched in `data["urls"]`, notice references in
    `data["references"]`.
    """

    at = models.DateTimeField(auto_now_add=True)
    actor = models.CharField(max_length=200)
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    ip = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        permissions = [("export_auditevent", "Can export the audit log")]
        indexes = [
            # The admin log, newest first, and its date range (at__gte / at__lt).
            models.Index(fields=["-at", "-id"], name="audit_at_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            # Filter by user: WHERE actor = %s ORDER BY at DESC.
            models.Index(fields=["actor", "-at"], name="audit_actor_idx"),
            # Filter by case: data @> '{"urls": [id]}' (and references), the purge's look-up of the same.
            GinIndex(fields=["data"], opclasses=["jsonb_path_ops"], name="audit_data_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.object_type}:{self.object_id}"
