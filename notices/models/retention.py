"""How long ended cases keep their URLs: the retention periods a supervisor sets (one row)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models


def _default_ended_days() -> int:
    return settings.RETENTION_ENDED_CASES_DAYS


def _default_not_illegal_days() -> int:
    return settings.RETENTION_NOT_ILLEGAL_DAYS


class RetentionPolicy(models.Model):
    """The retention periods (a singleton, id 1). Without the row the environment defaults apply
    (RETENTION_ENDED_CASES, RETENTION_NOT_ILLEGAL); the admin page starts from them."""

    SINGLETON_ID = 1

    ended_cases_days = models.PositiveIntegerField(
        default=_default_ended_days,
        validators=[MinValueValidator(1)],
        help_text="Days after a case ended (removed, gone before notice, closed) before its URL is purged.",
    )
    not_illegal_days = models.PositiveIntegerField(
        default=_default_not_illegal_days,
        validators=[MinValueValidator(1)],
        help_text="Days after a report was judged not illegal before its URL is purged.",
    )
    purge_enabled = models.BooleanField(
        default=True, help_text="Off: the scheduled purge does nothing (the command still can be run)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "retention settings"
        verbose_name_plural = "retention settings"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="retention_policy_singleton")]

    def __str__(self) -> str:
        return (
            f"URLs kept {self.ended_cases_days} d after a case ended, {self.not_illegal_days} d not illegal"
        )

    @classmethod
    def current(cls) -> RetentionPolicy:
        """The saved settings, else an unsaved row holding the environment defaults."""
        return cls.objects.filter(pk=cls.SINGLETON_ID).first() or cls(pk=cls.SINGLETON_ID)
