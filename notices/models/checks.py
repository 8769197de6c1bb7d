"""Check observations: what the checker saw, never what the page contained."""

from django.db import models

from notices.enums import CheckOutcome


class Check(models.Model):
    # No index of its own: check_url_idx (url, -checked_at) serves every lookup by URL.
    url = models.ForeignKey("notices.Url", on_delete=models.CASCADE, related_name="checks", db_index=False)
    checked_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=CheckOutcome.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    final_url = models.TextField(blank=True)
    error_class = models.CharField(max_length=40, blank=True)
    resolved_ip = models.GenericIPAddressField(null=True, blank=True)
    elapsed_ms = models.PositiveIntegerField(default=0)
    redirects = models.PositiveSmallIntegerField(default=0)
    vantage = models.CharField(max_length=100, default="direct")

    class Meta:
        indexes = [
            # URL detail / portal: check history of one URL, newest first.
            models.Index(fields=["url", "-checked_at"], name="check_url_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.url_id} {self.outcome} @ {self.checked_at:%Y-%m-%d %H:%M:%S}"


class DueCheck(models.Model):
    """The due-check queue: one narrow row per URL with a next check planned (`Url.next_check_at` not null).

    Maintained by database triggers on `Url.next_check_at` (migration 0015): a new value upserts the row here
    (clearing any claim), null deletes it, so every writer — services, bulk SQL, the admin — keeps the queue
    right without knowing of it. Recording a check releases its claim explicitly (`release_claims`), since
    the next time it computes may equal the old one. Claims (`checks.scheduling.claim_due`) lock and update
    only these rows: a claim costs an update of a three-column row with two indexes instead of one of the wide
    URL row with all its indexes, and the queue holds only open items however many URLs are stored.
    """

    url = models.OneToOneField("notices.Url", on_delete=models.CASCADE, primary_key=True, related_name="+")
    due_at = models.DateTimeField()
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="Set by a claim; the claim also pushes due_at to this time."
    )

    class Meta:
        indexes = [
            # The sweep: WHERE due_at <= now ORDER BY due_at LIMIT n FOR NO KEY UPDATE SKIP LOCKED.
            models.Index(fields=["due_at"], name="duecheck_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.url_id} due {self.due_at:%Y-%m-%d %H:%M:%S}"


class RemovalCycle(models.Model):
    """A finished notice cycle of a URL whose content came back (reappearance).

    The URL's own fields hold its current cycle; when a removed URL is seen live again, the cycle it closed is
    kept here so statistics still count its time to removal — and count the reappearance against the provider.
    """

    url = models.ForeignKey("notices.Url", on_delete=models.CASCADE, related_name="past_cycles")
    provider_at_notice = models.ForeignKey(
        "notices.HostingProvider", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    asn_at_notice = models.BigIntegerField(null=True, blank=True)
    country_at_notice = models.CharField(max_length=2, blank=True)
    notice_type_at_notice = models.CharField(max_length=24, blank=True)
    first_notice_sent_at = models.DateTimeField()
    removal_confirmed_at = models.DateTimeField()
    removed_low = models.DateTimeField()
    removed_high = models.DateTimeField()
    ttr_low = models.BigIntegerField()
    ttr_high = models.BigIntegerField()
    reappeared_at = models.DateTimeField()

    class Meta:
        indexes = [
            # TTR statistics by provider include past cycles.
            models.Index(
                fields=["provider_at_notice", "first_notice_sent_at"], name="cycle_stats_provider_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.url_id}: removed {self.removed_high:%Y-%m-%d}, back {self.reappeared_at:%Y-%m-%d}"
