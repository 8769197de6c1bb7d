"""X-ARF v4 reports (category `content`, type `csam`), one per URL. Never a person, never evidence."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings

from notices.models import Notice, Url

XARF_VERSION = "4.2.0"


def _hotline_party() -> dict:
    domain = settings.HOTLINE_EMAIL.rpartition("@")[2]
    return {"org": settings.HOTLINE_NAME, "contact": settings.HOTLINE_EMAIL, "domain": domain}


def xarf_reports(*, notice: Notice, urls: Sequence[Url], now: datetime) -> list[dict]:
    """The X-ARF reports of the notice's `urls`, in their order (`report_id` is stable for (notice, url));
    what the reports share (the hotline, the time, the tag) is built once per notice."""
    party = _hotline_party()  # reporter and sender: the hotline itself
    timestamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    reference = notice.reference
    reports = []
    for url in urls:
        assessment = url.current_assessment
        trace = url.current_trace
        report = {
            "xarf_version": XARF_VERSION,
            "report_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{reference}/{url.pk}")),
            "timestamp": timestamp,
            "reporter": party,
            "sender": party,
            "source_identifier": (trace.ip if trace and trace.ip else url.host),
            "category": "content",
            "type": "csam",
            "url": url.canonical,
            "domain": url.host.strip("[]"),
            "classification": (assessment.classification if assessment else "") or "baseline",
            "detection_method": assessment.detection_method if assessment else "manual_review",
            "tags": [f"notice:{reference.lower()}"],  # X-ARF tags are lower-case `namespace:predicate`
        }
        if assessment and assessment.media_type:
            report["media_type"] = assessment.media_type
        reports.append(report)
    return reports
