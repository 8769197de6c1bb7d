"""What became of a report, for the partner that sent it: `GET /api/v1/reports/{receipt}/`."""

from __future__ import annotations

from notices.models import Report


def report_by_receipt(*, receipt: str, partner=None, staff: bool = False) -> Report | None:
    """The report with `receipt`, with its case: a partner's own only (another partner's is None, as an
    unknown receipt is); a staff key's any report."""
    if partner is None and not staff:
        return None
    qs = Report.objects.select_related("url")
    if not staff:
        qs = qs.filter(partner=partner)
    return qs.filter(receipt=receipt).first()


def receipt_status(report: Report) -> dict:
    """The report and its case as the receipt endpoint shows them (INTERFACES.md "Definitions"): the case's
    status, when its first notice was sent, when removal was confirmed with the removal interval
    [last live, first gone] and the TTR bounds in seconds (null until removed after a notice), when it was
    closed. A purged case (retention) shows no URL."""
    url = report.url
    return {
        "receipt": report.receipt,
        "external_ref": report.external_ref,
        "reported_at": report.reported_at,
        "received_at": report.received_at,
        "duplicate": report.duplicate,
        "url": {"id": url.pk, "canonical": url.canonical, "status": url.status},
        "case": {
            "status": url.status,
            "purged": url.purged_at is not None,
            "first_notice_sent_at": url.first_notice_sent_at,
            "removal_confirmed_at": url.removal_confirmed_at,
            "removed": {"low": url.removed_low, "high": url.removed_high},
            "ttr": {"low": url.ttr_low, "high": url.ttr_high},
            "closed_at": url.closed_at,
        },
    }
