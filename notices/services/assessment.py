"""Assessment: an analyst decides whether the content is illegal, and how it is classified."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from notices.enums import Classification, Legality
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
) -> Assessment:
    """Record an assessment and make it the URL's current one.

    Side effects: a new URL becomes `assessed` (illegal) or `not_illegal`; a URL already in a notice keeps its
    status. An illegal URL is due for its first check at once, and one never traced gets a trace task queued
    after commit. Writes `url.assessed`.
    Raises AssessmentError when illegal content has no classification, NoticeError for a purged case (its
    URL is gone: nothing left to assess).
    """
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
        )
        assess(url, assessment, actionable=legality in ACTIONABLE, actor=actor_label(user=analyst), now=now)
        if legality in ACTIONABLE and url.current_trace_id is None:
            enqueue.after_commit(enqueue.TRACE_URL, url.pk)
    return assessment
