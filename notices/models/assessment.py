"""An analyst's assessment of a URL."""

from django.conf import settings
from django.db import models

from notices.enums import Classification, DetectionMethod, Legality, MediaType


class Assessment(models.Model):
    url = models.ForeignKey("notices.Url", on_delete=models.CASCADE, related_name="assessments")
    analyst = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    legality = models.CharField(max_length=24, choices=Legality.choices)
    classification = models.CharField(max_length=10, choices=Classification.choices, blank=True)
    detection_method = models.CharField(
        max_length=20, choices=DetectionMethod.choices, default=DetectionMethod.MANUAL_REVIEW
    )
    media_type = models.CharField(max_length=10, choices=MediaType.choices, blank=True)
    severity = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1 (lowest) to 5 (highest).")
    legal_basis = models.TextField(blank=True, help_text="Legal provisions the content infringes.")
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField()
    # Four-eyes verification (settings.FOUR_EYES_VERIFICATION): a second analyst, not the assessor, confirms.
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.get_legality_display()} ({self.classification or '-'})"
