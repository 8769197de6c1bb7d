"""An analyst's assessment of a URL, in our own terms and in the hotline network's shared vocabulary."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from notices.enums import (
    AgeBand,
    Classification,
    DetectionMethod,
    Legality,
    MediaType,
    NetworkClassification,
    OutcomeReason,
    PaymentMethod,
    SiteType,
    VictimGender,
)
from notices.models.choices import choice_constraint, choice_list_constraint

# ICCAM's classification is our legality in the network's words: stored by the database from `legality`, so
# the two can never disagree (and every assessment made before the vocabulary has it too).
NETWORK_CLASSIFICATION = models.Case(
    models.When(legality=Legality.ILLEGAL_INTERNATIONAL, then=models.Value(NetworkClassification.BASELINE)),
    models.When(legality=Legality.ILLEGAL_NATIONAL, then=models.Value(NetworkClassification.NATIONAL)),
    default=models.Value(NetworkClassification.NOT_ILLEGAL),
)


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

    # The hotline network's vocabulary (notices/enums.py names its sources). Values only, never imagery.
    network_classification = models.GeneratedField(
        expression=NETWORK_CLASSIFICATION,
        output_field=models.CharField(max_length=12, choices=NetworkClassification.choices),
        db_persist=True,
    )
    age_band = models.CharField(
        max_length=16, choices=AgeBand.choices, blank=True, help_text="Youngest person depicted."
    )
    victim_gender = models.CharField(max_length=8, choices=VictimGender.choices, blank=True)
    virtual_content = models.BooleanField(
        default=False, help_text="Virtual, drawn or AI-generated (no real child need be depicted)."
    )
    user_generated = models.BooleanField(default=False, help_text="Self- or user-generated material.")
    child_modelling = models.BooleanField(default=False, help_text="Child modelling material.")
    site_type = models.CharField(max_length=16, choices=SiteType.choices, blank=True)
    commercial = models.BooleanField(
        null=True, blank=True, help_text="Commercial site (sells access); empty: not determined."
    )
    payment_methods = ArrayField(
        models.CharField(max_length=16, choices=PaymentMethod.choices), default=list, blank=True
    )
    outcome_reason = models.CharField(
        max_length=32,
        choices=OutcomeReason.choices,
        blank=True,
        help_text="Why the report could not be actioned as reported (empty: it could).",
    )

    class Meta:
        constraints = [
            choice_constraint("age_band", AgeBand, "assessment_age_band_valid"),
            choice_constraint("victim_gender", VictimGender, "assessment_victim_gender_valid"),
            choice_constraint("site_type", SiteType, "assessment_site_type_valid"),
            choice_constraint("outcome_reason", OutcomeReason, "assessment_outcome_reason_valid"),
            choice_list_constraint("payment_methods", PaymentMethod, "assessment_payment_methods_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_legality_display()} ({self.classification or '-'})"
