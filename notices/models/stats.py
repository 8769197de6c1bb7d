"""Precomputed statistics: the scheduled rollup the API and dashboard read (raw queries take seconds at scale)."""

from django.db import models


class StatsSnapshot(models.Model):
    """The unfiltered time-to-removal statistics for one grouping, as of `computed_at`."""

    group_by = models.CharField(max_length=16, unique=True)
    computed_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(help_text="How long the raw computation took.")
    groups = models.JSONField()

    def __str__(self) -> str:
        return f"{self.group_by} @ {self.computed_at:%Y-%m-%d %H:%M:%S}"
