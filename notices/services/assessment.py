"""Assessment: an analyst decides whether the content is illegal, and how it is classified."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from notices.enums import (
    AgeBand,
    Classification,
    Legality,
    OutcomeReason,
    PaymentMethod,
    SiteType,
    VictimGender,
)
from notices.errors import NoticeError
from notices.infra import enqueue
from notices.infra.events import actor_label
from notices.models import Assessment, Url
from notices.services.urls import assess

ACTIONABLE = {Legality.ILLEGAL_INTERNATIONAL, Legality.ILLEGAL_NATIONAL}


class AssessmentError(ValueError):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


def assess_url(
    *,
    url: Url,
    analyst,
    legality: str,
    now: datetime,
    classification: str = "",
    detection_method: str = "manual_review",
    media_type: str = "",
    severity: int | None = None,
    legal_basis: str = "",
    notes: str = "",
    age_band: str = "",
    victim_gender: str = "",
    virtual_content: bool = False,
    user_generated: bool = False,
    child_modelling: bool = False,
    site_type: str = "",
    commercial: bool | None = None,
    payment_methods: list[str] | tuple[str, ...] = (),
    outcome_reason: str = "",
) -> Assessment:
    """Record an assessment and make it the URL's current one.

    Side effects: a new URL becomes `assessed` (illegal) or `not_illegal`; a URL already in a notice keeps its
    status. An illegal URL is due for its first check at once, and one never traced gets a trace task queued
    after commit. Writes `url.assessed`.
    The network vocabulary (age band, gender, the virtual / user-generated / child-modelling flags, site type,
    commercial, payment methods, outcome reason) is stored as given; its ICCAM classification follows from
    `legality` (the database derives it).
    Raises AssessmentError when illegal content has no classification, or a network value is not in its
    vocabulary (or payment methods are named for a site not commercial); NoticeError for a purged case (its
    URL is gone: nothing left to assess).
    """
    problems = vocabulary_problems(
        age_band=age_band,
        victim_gender=victim_gender,
        site_type=site_type,
        outcome_reason=outcome_reason,
        payment_methods=payment_methods,
        commercial=commercial,
    )
    if problems:
        raise AssessmentError(problems)
    if legality in ACTIONABLE and not classification:
        raise AssessmentError({"classification": ["Required when the content is illegal."]})
    if legality == Legality.ILLEGAL_INTERNATIONAL and classification and classification not in Classification:
        raise AssessmentError({"classification": [f"Unknown classification {classification!r}."]})
    with transaction.atomic():
        url = Url.objects.select_for_update().get(pk=url.pk)
        if url.purged_at:
            raise NoticeError({"detail": [f"URL {url.pk} was purged (retention): it cannot be assessed."]})
        assessment = Assessment.objects.create(
            url=url,
            analyst=analyst if getattr(analyst, "is_authenticated", False) else None,
            legality=legality,
            classification=classification,
            detection_method=detection_method,
            media_type=media_type,
            severity=severity,
            legal_basis=legal_basis,
            notes=notes,
            created_at=now,
            age_band=age_band,
            victim_gender=victim_gender,
            virtual_content=virtual_content,
            user_generated=user_generated,
            child_modelling=child_modelling,
            site_type=site_type,
            commercial=commercial,
            payment_methods=sorted(set(payment_methods)),
            outcome_reason=outcome_reason,
        )
        assess(url, assessment, actionable=legality in ACTIONABLE, actor=actor_label(user=analyst), now=now)
        if legality in ACTIONABLE and url.current_trace_id is None:
            enqueue.after_commit(enqueue.TRACE_URL, url.pk)
    return assessment


VOCABULARY = {
    "age_band": AgeBand,
    "victim_gender": VictimGender,
    "site_type": SiteType,
    "outcome_reason": OutcomeReason,
}


def vocabulary_problems(*, payment_methods, commercial, **values: str) -> dict[str, list[str]]:
    """Field errors for network-vocabulary values that are not in their enum ("" is "not recorded")."""
    errors = {
        field: [f"Unknown value {value!r}."]
        for field, value in values.items()
        if value and value not in VOCABULARY[field].values
    }
    unknown = sorted(set(payment_methods) - set(PaymentMethod.values))
    if unknown:
        errors["payment_methods"] = [f"Unknown value {unknown[0]!r}."]
    elif payment_methods and commercial is False:
        errors["payment_methods"] = ["Payment methods are seen only on a commercial site."]
    return errors
