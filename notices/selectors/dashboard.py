"""What the analyst dashboard shows: queues, open cases, delivery problems, time-to-removal per provider."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Q

from notices.enums import AlertStatus, NoticeStatus, OutboxStatus, StepAction, UrlStatus
from notices.models import (
    AnalystAlert,
    Event,
    HostingProvider,
    Notice,
    OutgoingMessage,
    ProviderContact,
    Url,
)
from notices.selectors.stats import time_to_removal


def queue_counts(*, now: datetime) -> dict[str, int]:
    """Counts that tell an analyst what needs doing next (one aggregate query)."""
    week_ago = now - timedelta(days=7)
    counts = Url.objects.aggregate(
        new=Count("pk", filter=Q(status=UrlStatus.NEW)),
        assessed=Count("pk", filter=Q(status=UrlStatus.ASSESSED)),
        untraced=Count("pk", filter=Q(status=UrlStatus.ASSESSED, provider__isnull=True)),
        open=Count("pk", filter=Q(status=UrlStatus.NOTIFIED)),
        overdue=Count("pk", filter=Q(status=UrlStatus.NOTIFIED, first_notice_sent_at__lt=week_ago)),
        removed_30d=Count("pk", filter=Q(removal_confirmed_at__gte=now - timedelta(days=30))),
    )
    counts["drafts"] = Notice.objects.filter(status=NoticeStatus.DRAFT).count()
    counts["disputed"] = Notice.objects.filter(status=NoticeStatus.DISPUTED).count()
    # A cancelled mail (a withdrawn notice's, an escalation's whose content went) is no delivery problem.
    counts["failed_mail"] = OutgoingMessage.objects.filter(status=OutboxStatus.FAILED).count()
    counts["failing_contacts"] = ProviderContact.objects.filter(failing=True).count()
    # Cases beyond their repeats: alerted, sent upstream, handed off or referred.
    counts["escalated"] = (
        Url.objects.filter(status=UrlStatus.NOTIFIED, escalations__run__action__in=BEYOND_REPEATS)
        .distinct()
        .count()
    )
    counts["alerts"] = open_alert_count()
    return counts


BEYOND_REPEATS = [action for action in StepAction if action != StepAction.REPEAT_NOTICE]


def open_alert_count() -> int:
    """Alerts that need a human (open or acknowledged): one count over the partial index of unresolved
    alerts."""
    return AnalystAlert.objects.exclude(status=AlertStatus.RESOLVED).count()


def provider_rows(*, now: datetime, since: datetime | None = None, stats: dict | None = None) -> list[dict]:
    """Per provider: TTR figures {low, high} and counts, slowest (highest median high bound) first. `stats`: a
    `time_to_removal(group_by="provider")` answer already at hand (the dashboard also shows its age)."""
    stats = stats or time_to_removal(group_by="provider", now=now, since=since)
    groups = [g for g in stats["groups"] if g["key"]]
    names = dict(HostingProvider.objects.values_list("slug", "name"))
    countries = dict(HostingProvider.objects.values_list("slug", "country"))
    longest = max([_bar(g) for g in groups] or [1]) or 1
    rows = []
    for group in groups:
        rows.append(
            {
                **group,
                "name": names.get(group["key"], group["key"]),
                "country": countries.get(group["key"]),
                "bar_low": 100 * (group["median"]["low"] or 0) / longest,
                "bar_high": 100 * _bar(group) / longest,
                "unbounded": group["median"]["high"] is None,
            }
        )
    return sorted(rows, key=lambda r: (not r["unbounded"], -_bar(r)))


def _bar(group: dict) -> int:
    """Length of the bar: the median's high bound, or its low bound when still-up cases make it unbounded."""
    median = group["median"]
    return median["high"] if median["high"] is not None else (median["low"] or 0)


def recent_events(limit: int = 15) -> list[Event]:
    return list(Event.objects.select_related("url", "notice").order_by("-at", "-id")[:limit])


# The member-state chart: one horizontal bar per state, drawn in an SVG coordinate system (no inline style).
CHART_LABEL = 44
CHART_WIDTH = 560
CHART_ROW = 22
CHART_BAR = 14


def member_state_chart(groups: list[dict]) -> dict:
    """Bars of the URLs hosted per member state (most first), with their coordinates in the chart's viewBox:
    `width` is proportional to the count, the darker part to the cases removed."""
    groups = sorted(groups, key=lambda g: (-g["count"], g["key"]))
    longest = max([g["count"] for g in groups] or [1])
    bars = []
    for i, group in enumerate(groups):
        width = CHART_WIDTH * group["count"] / longest
        bars.append(
            {
                "key": group["key"],
                "count": group["count"],
                "y": i * CHART_ROW,
                "text_y": i * CHART_ROW + CHART_BAR - 2,
                "width": round(width, 1),
                "removed_width": round(width * group["removed"] / group["count"], 1),
                "label_x": CHART_LABEL + round(width, 1) + 6,
            }
        )
    return {
        "bars": bars,
        "bar_x": CHART_LABEL,
        "bar_height": CHART_BAR,
        "width": CHART_LABEL + CHART_WIDTH + 60,
        "height": max(len(bars), 1) * CHART_ROW,
    }
