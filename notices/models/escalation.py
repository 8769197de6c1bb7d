"""Escalation: the policies a supervisor edits, each step a case took, referrals and the analysts' alerts."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from notices.enums import (
    AlertKind,
    AlertStatus,
    ClockStart,
    LegalBasis,
    NoticeType,
    OrderPauseReason,
    ReferralAuthority,
    StepAction,
    StepAnchor,
    StepRunStatus,
    StopKind,
)
from notices.models.choices import COUNTRY_CHOICES


class EscalationPolicy(models.Model):
    """An ordered ladder of steps for one notice type; one with a provider overrides the type's default for
    that provider. Only active policies are used: at most one per (type, provider), one default per type."""

    name = models.CharField(max_length=200, unique=True)
    notice_type = models.CharField(max_length=24, choices=NoticeType.choices)
    provider = models.ForeignKey(
        "notices.HostingProvider",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="escalation_policies",
        help_text="Blank: the default for the notice type. Set: overrides it for this provider.",
    )
    active = models.BooleanField(default=True)
    note = models.TextField(blank=True, help_text="Why this ladder (an agreement with the provider, …).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "escalation policies"
        constraints = [
            models.UniqueConstraint(
                fields=["notice_type"],
                condition=models.Q(active=True, provider__isnull=True),
                name="escalation_policy_one_default",
                violation_error_message="Another active default policy has this notice type.",
            ),
            models.UniqueConstraint(
                fields=["notice_type", "provider"],
                condition=models.Q(active=True, provider__isnull=False),
                name="escalation_policy_one_per_provider",
                violation_error_message="Another active policy has this notice type and provider.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class EscalationStep(models.Model):
    """One rung: "`delay` after `anchor` without removal → `action`", once, or every `repeat_every` (at most
    `repeat_times` times; blank: until the case ends)."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(help_text="Order in the ladder (1 first).")
    action = models.CharField(max_length=24, choices=StepAction.choices)
    anchor = models.CharField(max_length=10, choices=StepAnchor.choices, default=StepAnchor.NOTICE)
    delay = models.DurationField(help_text="E.g. 24h, 7d, 90m; before a deadline: -2h.")
    repeat_every = models.DurationField(null=True, blank=True, help_text="Blank: once.")
    repeat_times = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many times in all, when repeated (blank: until the case ends)."
    )

    class Meta:
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="escalation_step_position"),
            models.CheckConstraint(
                condition=models.Q(anchor="deadline") | models.Q(delay__gte=timedelta(0)),
                name="escalation_step_delay_sign",
                violation_error_message="Only a delay from the deadline may be negative (to remind before).",
            ),
            models.CheckConstraint(
                condition=models.Q(repeat_every__isnull=True) | models.Q(repeat_every__gt=timedelta(0)),
                name="escalation_step_repeat_positive",
                violation_error_message="A repeat interval must be longer than zero.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy}: {self.position}. {self.get_action_display()}"

    def clean(self) -> None:
        if self.repeat_times is not None and self.repeat_every is None:
            raise ValidationError({"repeat_times": "Give the repeat interval too, or leave this blank."})
        if self.repeat_times == 0:
            raise ValidationError({"repeat_times": "At least once; leave it blank for no limit."})


class StepRun(models.Model):
    """One run of a step for one notice: the notice's URLs still up then (their `Escalation` rows) went up
    one rung together. Unique per (notice, step, occurrence): a step is never taken twice. A queued run waits
    for the outbox (or a webhook); a failed one is retried with backoff (`next_attempt_at`)."""

    notice = models.ForeignKey("notices.Notice", on_delete=models.CASCADE, related_name="step_runs")
    step = models.ForeignKey(
        EscalationStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    occurrence = models.PositiveIntegerField(default=1, help_text="1 the first time, 2 the first repeat, …")
    action = models.CharField(max_length=24, choices=StepAction.choices)
    status = models.CharField(max_length=10, choices=StepRunStatus.choices)
    attempts = models.PositiveIntegerField(default=1)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When a failed run is retried.")
    last_error = models.TextField(blank=True)
    target = models.TextField(blank=True, help_text="Who it went to, in words.")
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    performed_at = models.DateTimeField(
        null=True, blank=True, help_text="Taken: queued, made available, recorded (or found not applicable)."
    )
    delivered_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Accepted by SMTP, made available in the portal and API, or recorded.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["notice", "step", "occurrence"],
                condition=models.Q(step__isnull=False),
                name="step_run_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.notice_id}: {self.get_action_display()} #{self.occurrence} ({self.status})"


class Escalation(models.Model):
    """A case's share of a step run: the URL went up this rung in this notice cycle. Rows written before the
    runs existed (the fixed ladder of the ESCALATION_STEPS setting) have no run."""

    url = models.ForeignKey("notices.Url", on_delete=models.CASCADE, related_name="escalations")
    notice = models.ForeignKey("notices.Notice", null=True, blank=True, on_delete=models.SET_NULL)
    run = models.ForeignKey(StepRun, null=True, blank=True, on_delete=models.CASCADE, related_name="cases")
    level = models.PositiveSmallIntegerField(help_text="The step's position in its ladder.")
    reason = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["url", "run"], condition=models.Q(run__isnull=False), name="escalation_once_per_run"
            )
        ]

    def __str__(self) -> str:
        return f"{self.url_id} level {self.level}"


class Referral(models.Model):
    """A case referred to an authority by the ladder: law enforcement (the hotline's country) or the
    provider's Digital Services Coordinator. `exported_at` stamps the last export that carried it."""

    run = models.OneToOneField(StepRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    authority = models.CharField(max_length=20, choices=ReferralAuthority.choices)
    country = models.CharField(
        max_length=2, blank=True, choices=COUNTRY_CHOICES, help_text="Whose authority."
    )
    notice = models.ForeignKey("notices.Notice", on_delete=models.PROTECT, related_name="referrals")
    provider = models.ForeignKey("notices.HostingProvider", on_delete=models.PROTECT, related_name="+")
    urls = models.ManyToManyField("notices.Url", related_name="referrals")
    created_at = models.DateTimeField()
    exported_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"referral {self.pk} to {self.get_authority_display()} ({self.country or '?'})"


class AnalystAlert(models.Model):
    """A case that needs a human: the admin's alert queue and the daily digest. `key` keeps one open alert
    per cause (a step failing again does not open a second one)."""

    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    key = models.CharField(max_length=100)
    summary = models.TextField()
    url = models.ForeignKey("notices.Url", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    notice = models.ForeignKey(
        "notices.Notice", null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    provider = models.ForeignKey(
        "notices.HostingProvider", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=~models.Q(status="resolved"), name="alert_one_open_per_key"
            )
        ]
        indexes = [
            # The queue and its count: WHERE status <> 'resolved' ORDER BY created_at.
            models.Index(
                fields=["created_at"], name="alert_open_idx", condition=~models.Q(status="resolved")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary[:60]}"


class ClockStopQuerySet(models.QuerySet):
    def in_force(self, now):
        """Stops not ended and not timed out at `now`."""
        return self.filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now), ended_at=None)

    def holds(self, now):
        return self.in_force(now).filter(kind=StopKind.HOLD)


class ClockStop(models.Model):
    """A stretch of time a case's clock stands still. A law-enforcement hold ("do not notify", requested by
    staff for an investigation): nothing is sent for the case — no draft goes out, its queued mails wait, the
    escalation sweep passes it by — until cleared or until `expires_at`. A pause: the provider asked for more
    information or disputed the notice, until the analyst answers. Both are left out of the provider's SLA
    figures (never out of the raw time to removal), and the case's ladder is shifted by them."""

    kind = models.CharField(max_length=10, choices=StopKind.choices)
    url = models.ForeignKey("notices.Url", on_delete=models.CASCADE, related_name="clock_stops")
    notice = models.ForeignKey(
        "notices.Notice",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="A pause: the notice the provider answered.",
    )
    reason = models.TextField()
    requester = models.CharField(
        max_length=200, blank=True, help_text="A hold: who asked for it (agency, officer, case number)."
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True, help_text="A hold's timeout (blank: none).")
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    end_note = models.TextField(blank=True)

    objects = ClockStopQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["url", "started_at"], name="clock_stop_url_idx"),
            models.Index(fields=["url"], name="clock_stop_open_idx", condition=models.Q(ended_at=None)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=models.F("started_at")),
                name="clock_stop_expires_after_start",
                violation_error_message="The timeout must lie after the start.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on case {self.url_id}"

    def end(self):
        """When it ended (cleared, answered or timed out), None while it lasts."""
        ends = [t for t in (self.ended_at, self.expires_at) if t is not None]
        return min(ends, default=None)


class RemovalOrder(models.Model):
    """A removal order carried by a notice of type removal order, with its legal clock: it starts at the
    order's receipt (`clock_starts`: the delivery — accepted by the mail server, or made available to an
    API-only provider — or the provider's acknowledgement), stands still during pauses (`OrderPause`), and
    runs out at `due_at` = receipt + time allowed + paused time. The TCO Regulation's one hour applies when a
    TCO order gives no time. A breach is recorded to the minute by the order sweep and alerts the analysts."""

    notice = models.OneToOneField("notices.Notice", on_delete=models.CASCADE, related_name="order")
    authority = models.CharField(max_length=200, help_text="The issuing competent authority.")
    reference = models.CharField(max_length=100, help_text="The authority's reference number.")
    issued_at = models.DateTimeField()
    addressee = models.CharField(max_length=200, help_text="The hosting service provider addressed.")
    legal_basis = models.CharField(max_length=10, choices=LegalBasis.choices)
    legal_basis_detail = models.TextField(blank=True)
    time_allowed = models.DurationField(
        null=True, blank=True, help_text="The order's own deadline from receipt (blank: the legal default)."
    )
    clock_starts = models.CharField(max_length=16, choices=ClockStart.choices)
    received_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, help_text="Blank: not received yet, or paused.")
    breached_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True, help_text="Every URL of the order removed.")
    superseded_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Every URL of the order moved to another network before its clock ran out: no breach.",
    )
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            # The order sweep: WHERE due_at <= now, still running.
            models.Index(
                fields=["due_at"],
                name="order_due_idx",
                condition=models.Q(breached_at=None, removed_at=None, due_at__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["authority", "reference"],
                name="order_reference_once",
                violation_error_message="This authority's order with this reference is already recorded.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.authority} {self.reference}"


class OrderPause(models.Model):
    """A stretch a removal order's clock stood still, for a recorded reason."""

    order = models.ForeignKey(RemovalOrder, on_delete=models.CASCADE, related_name="pauses")
    reason = models.CharField(max_length=16, choices=OrderPauseReason.choices)
    note = models.TextField(blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=models.Q(ended_at=None), name="order_one_open_pause"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order}: {self.get_reason_display()}"


class BlocklistEntry(models.Model):
    """A URL on the blocking list partners pull (`GET /api/v1/blocklist/`): a case still up that its ladder
    referred to an authority. `removed_at` is set when it leaves the list (removed, closed, held, or in no
    open notice any more) and cleared when it comes back; `changed_at` orders incremental pulls."""

    url = models.OneToOneField("notices.Url", on_delete=models.CASCADE, related_name="+")
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the canonical URL, hex.")
    added_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "blocklist entries"
        indexes = [
            # Incremental pulls walk (changed_at, id) from a cursor: `notices.services.blocklist.pull`.
            models.Index(fields=["changed_at", "id"], name="blocklist_changed_idx"),
        ]

    def __str__(self) -> str:
        return self.sha256
