"""Check observations: what the checker saw, never what the page contained."""

from django.db import models

from notices.enums import CheckOutcome


class Check(models.Model):
    url = models.ForeignKey("notices.Url", on_delete=models.CASCADE, related_name="checks")
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
