"""Precomputed statistics: the rollup the API and dashboard read (raw queries take seconds at scale), and what
keeps it honest — a record of changes it does not include yet, and the claim that collapses refreshes."""

from django.db import models


class StatsSnapshot(models.Model):
    """The unfiltered time-to-removal statistics for one grouping, as of `computed_at`."""

    group_by = models.CharField(max_length=16, unique=True)
    computed_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(help_text="How long the raw computation took.")
    groups = models.JSONField()
    generation = models.BigIntegerField(default=0, help_text="The refresh that wrote it (a sequence).")

    def __str__(self) -> str:
        return f"{self.group_by} @ {self.computed_at:%Y-%m-%d %H:%M:%S}"


class StatsChange(models.Model):
    """A committed change to what the statistics count (a first notice, a removal, a reappearance, a case
    leaving the statistics), not yet in the snapshots.

    Written by database triggers on the URL and removal-cycle tables, at most one row per transaction however
    many rows it changed (the cases it changed are named in StatsChangedCase). A refresh deletes the rows it
    has seen in the transaction that writes the new snapshots, so a change committed meanwhile stays here and
    the snapshots stay stale until the next one.
    """

    changed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"change @ {self.changed_at:%Y-%m-%d %H:%M:%S}"


class StatsChangedCase(models.Model):
    """A case a committed change touched, so a process keeping the cases as columns re-reads only those
    (selectors/stats_columns.py): `key` is the URL id for a URL's current cycle, minus the id for a finished
    RemovalCycle, and empty for "anything may have changed" (a bulk statement, a truncation: read them all).

    Written by the same triggers as StatsChange, set-based from the statements' transition tables, with the
    writing transaction (`xact`, its 64-bit id), which says whether a process's read saw it. Refreshes do not
    settle these rows; they prune those older than `stats_columns.CHANGED_CASES_KEPT` and advance a horizon
    below which a process must read everything again.
    """

    xact = models.BigIntegerField(help_text="The writing transaction (pg_current_xact_id).")
    key = models.BigIntegerField(null=True, help_text="URL id, or minus a removal cycle's id; empty: all.")
    changed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["xact"], name="statschangedcase_xact_idx")]

    def __str__(self) -> str:
        return f"changed case {self.key} in transaction {self.xact} @ {self.changed_at:%Y-%m-%d %H:%M:%S}"


class StatsRefresh(models.Model):
    """The one row that coordinates snapshot refreshes (id 1): a queued refresh collapses further requests,
    a running one is a claim no second worker takes, and the outcome of the last run."""

    requested_at = models.DateTimeField(null=True, blank=True, help_text="A debounced refresh is queued.")
    started_at = models.DateTimeField(null=True, blank=True, help_text="A refresh is running (its claim).")
    finished_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    refreshes = models.PositiveBigIntegerField(default=0, help_text="Recomputations done (not requests).")

    class Meta:
        verbose_name_plural = "stats refreshes"

    def __str__(self) -> str:
        return f"statistics refresh (last finished {self.finished_at})"
