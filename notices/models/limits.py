"""Request counters shared by every process (notices/infra/ratelimit.py): the API's rate limits."""

from __future__ import annotations

from django.db import models


class RateCounter(models.Model):
    """Requests of one bucket (an API key, or a client address without a valid key) in its current fixed
    window. One row per bucket, updated by one upsert per request. The table is UNLOGGED (migration 0027):
    no WAL, so counting never waits for a disk flush; after a crash of the database server it starts empty,
    which only forgives the requests of the windows under way."""

    bucket = models.CharField(max_length=100, primary_key=True)
    window_start = models.BigIntegerField(help_text="Unix time (seconds) the current window began.")
    hits = models.IntegerField(help_text="Requests counted in that window, refused ones included.")

    def __str__(self) -> str:
        return f"{self.bucket}: {self.hits} since {self.window_start}"
