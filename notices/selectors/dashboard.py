"""What the analyst dashboard shows: queues, open cases, delivery problems, time-to-removal per provider."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

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

COUNT_CAP = 10_000


class CappedCount(int):
    """A count that stopped at COUNT_CAP: shown as "10,000+" (its value is the cap + 1, so it is truthy and
    compares as more than the cap)."""

    def __str__(self) -> str:
        return f"{COUNT_CAP:,}+" if self > COUNT_CAP else str(int(self))


def capped(queryset) -> CappedCount:
    """How many rows `queryset` selects, counting at most COUNT_CAP + 1 (`count(*)` over a LIMIT): a card on
    the dashboard costs the same whether a million cases or ten thousand match."""
    return CappedCount(queryset[: COUNT_CAP + 1].count())


def queue_counts(*, now: datetime) -> dict[str, int]:
    """Counts that tell an analyst what needs doing next, each capped (`capped`) and each read through an
    index: the status index for the case states, the removal-time index for the last 30 days."""
    week_ago = now - timedelta(days=7)
    urls = Url.objects.all()
    counts = {
        "new": capped(urls.filter(status=UrlStatus.NEW)),
        "assessed": capped(urls.filter(status=UrlStatus.ASSESSED)),
        "untraced": capped(urls.filter(status=UrlStatus.ASSESSED, provider__isnull=True)),
        "open": capped(urls.filter(status=UrlStatus.NOTIFIED)),
        "overdue": capped(urls.filter(status=UrlStatus.NOTIFIED, first_notice_sent_at__lt=week_ago)),
        "removed_30d": capped(urls.filter(removal_confirmed_at__gte=now - timedelta(days=30))),
    }
    counts["drafts"] = capped(Notice.objects.filter(status=NoticeStatus.DRAFT))
    counts["disputed"] = capped(Notice.objects.filter(status=NoticeStatus.DISPUTED))
    # A cancelled mail (a withdrawn notice's, an escalation's whose content went) is no delivery problem.
    counts["failed_mail"] = capped(OutgoingMessage.objects.filter(status=OutboxStatus.FAILED))
    counts["failing_contacts"] = ProviderContact.objects.filter(failing=True).count()
    # Cases beyond their repeats: alerted, sent upstream, handed off or referred.
    counts["escalated"] = capped(
        Url.objects.filter(status=UrlStatus.NOTIFIED, escalations__run__action__in=BEYOND_REPEATS).distinct()
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


DASHBOARD_GROUPS = ["provider", "member_state", "month", "all"]


def consistent_statistics(*, now: datetime) -> list[dict]:
    """The dashboard's tables of time to removal (per provider, per member state, per month, all cases), all
    from one source: the snapshot when it can serve every one, else all computed live — never a live figure
    of all cases beside a snapshot's per provider. Each still says its own age."""
    answers = [time_to_removal(group_by=group_by, now=now) for group_by in DASHBOARD_GROUPS]
    if len({answer["source"] for answer in answers}) > 1:
        answers = [time_to_removal(group_by=group_by, now=now, fresh=True) for group_by in DASHBOARD_GROUPS]
    return answers


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


# --- Charts of time to removal (SVG coordinates computed here; the template only draws) -------------------

PLOT = {"left": 56, "top": 10, "width": 520, "height": 180}
DAY = 86400
# Durations on a logarithmic axis, 1 minute to 60 days, with the ticks a reader knows.
TICKS = [(60, "1 min"), (3600, "1 h"), (6 * 3600, "6 h"), (DAY, "1 d"), (3 * DAY, "3 d"), (7 * DAY, "7 d"),
         (30 * DAY, "30 d")]  # fmt: skip
AXIS_MIN, AXIS_MAX = 60, 60 * DAY


def _log_y(seconds: float) -> float:
    """The y coordinate of a duration (top: long)."""
    value = min(max(seconds, AXIS_MIN), AXIS_MAX)
    share = (math.log(value) - math.log(AXIS_MIN)) / (math.log(AXIS_MAX) - math.log(AXIS_MIN))
    return round(PLOT["top"] + PLOT["height"] * (1 - share), 1)


def _frame(**extra) -> dict:
    return {
        **PLOT,
        "right": PLOT["left"] + PLOT["width"],
        "bottom": PLOT["top"] + PLOT["height"],
        "view_width": PLOT["left"] + PLOT["width"] + 16,
        "view_height": PLOT["top"] + PLOT["height"] + 34,
        **extra,
    }


def trend_chart(months: list[dict], *, last: int = 24) -> dict:
    """Median and p90 time to removal per month of first notice, each as its low and high bound, on a
    logarithmic axis. A bound that is unbounded (still-up cases hold it open) is drawn at the top and marked:
    the month is not done yet."""
    months = sorted((g for g in months if g["key"]), key=lambda g: g["key"])[-last:]
    step = PLOT["width"] / max(len(months) - 1, 1)
    lines = {}
    open_marks = []
    for figure in ("median", "p90"):
        for bound in ("low", "high"):
            points = []
            for i, group in enumerate(months):
                x = round(PLOT["left"] + i * step, 1)
                value = group[figure][bound]
                if value is None:
                    open_marks.append({"x": x, "y": PLOT["top"], "label": f"{group['key']} {figure}"})
                    value = AXIS_MAX
                points.append(f"{x},{_log_y(value)}")
            lines[f"{figure}_{bound}"] = " ".join(points)
    labels = [
        {"x": round(PLOT["left"] + i * step, 1), "text": g["key"]}
        for i, g in enumerate(months)
        if i % math.ceil(len(months) / 6) == 0
    ]
    return _frame(
        lines=lines,
        open_marks=open_marks,
        x_labels=labels,
        y_ticks=[{"y": _log_y(s), "text": t} for s, t in TICKS],
        months=months,
    )


def survival_chart(group: dict | None) -> dict | None:
    """The share of noticed cases still up after each point (Kaplan–Meier), from the low and the high bounds:
    two step lines on a logarithmic time axis."""
    if not group or not group.get("survival"):
        return None
    curve = group["survival"]
    width = PLOT["width"]

    def x_of(seconds: float) -> float:
        first, last = math.log(curve[0]["t"]), math.log(curve[-1]["t"])
        share = (math.log(seconds) - first) / (last - first)
        return round(PLOT["left"] + width * share, 1)

    def y_of(share: float) -> float:
        return round(PLOT["top"] + PLOT["height"] * (1 - share), 1)

    lines = {}
    for bound in ("low", "high"):
        points, level = [f"{PLOT['left']},{y_of(1.0)}"], 1.0
        for point in curve:
            x = x_of(point["t"])
            points.append(f"{x},{y_of(level)}")
            level = point[bound]
            points.append(f"{x},{y_of(level)}")
        lines[bound] = " ".join(points)
    return _frame(
        lines=lines,
        x_labels=[{"x": x_of(p["t"]), "text": _duration(p["t"])} for p in curve],
        y_ticks=[{"y": y_of(s), "text": f"{int(s * 100)} %"} for s in (0, 0.25, 0.5, 0.75, 1.0)],
        points=curve,
    )


def _duration(seconds: int) -> str:
    return f"{seconds // DAY} d" if seconds >= DAY else f"{seconds // 3600} h"


def distribution_chart(distribution: dict) -> dict | None:
    """How long removals took, per band, counted from the low and from the high bound (one bar each), and
    the cases still up: where the two bars differ, the checks could not tell the band more precisely."""
    total = distribution["still_up"] + sum(distribution["low"])
    if not total:
        return None
    longest = max([*distribution["low"], *distribution["high"], distribution["still_up"]]) or 1
    row, bar = 32, 10
    rows = []
    for i, label in enumerate(distribution["bands"]):
        low, high = distribution["low"][i], distribution["high"][i]
        rows.append(
            {
                "label": label,
                "y": i * row,
                "low": low,
                "high": high,
                "low_width": round(PLOT["width"] * low / longest, 1),
                "high_width": round(PLOT["width"] * high / longest, 1),
            }
        )
    still = {"label": "still up", "y": len(rows) * row, "count": distribution["still_up"]}
    still["width"] = round(PLOT["width"] * still["count"] / longest, 1)
    return {
        "rows": rows,
        "still_up": still,
        "bar": bar,
        "row": row,
        "left": 80,
        "view_width": 80 + PLOT["width"] + 110,
        "view_height": (len(rows) + 1) * row,
        "total": total,
    }


def recidivism(provider_groups: list[dict], *, top: int = 10) -> list[dict]:
    """Providers whose removed content came back most often: reappearances per noticed case."""
    names = dict(HostingProvider.objects.values_list("slug", "name"))
    rows = [
        {
            "key": g["key"],
            "name": names.get(g["key"], g["key"]),
            "reappeared": g["reappeared"],
            "count": g["count"],
            "rate": g["reappeared"] / g["count"],
        }
        for g in provider_groups
        if g["key"] and g["reappeared"]
    ]
    return sorted(rows, key=lambda r: (-r["rate"], -r["reappeared"], r["key"]))[:top]
