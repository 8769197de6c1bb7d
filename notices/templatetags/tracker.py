"""Template filters shared by the admin, the dashboard and the portal."""

import re

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from notices.canonical import defang as _defang
from notices.selectors.dashboard import open_alert_count
from notices.selectors.queues import my_cases_count, queue_counts
from notices.selectors.timeline import event_label

register = template.Library()


@register.filter
def seconds(value) -> str:
    """A duration in seconds as a reader expects it: s under two minutes, min under two hours, h under two
    days, else days."""
    if value is None:
        return "—"
    value = int(value)
    if value < 120:
        return f"{value} s"
    if value < 7200:
        return f"{value / 60:.0f} min"
    if value < 172800:
        return f"{value / 3600:.1f} h"
    return f"{value / 86400:.1f} d"


_UNITS = ((86400, "d"), (3600, "h"), (60, "min"), (1, "s"))


def _natural_step(value: int) -> int:
    """The step `seconds` shows a value in: hours from two days on, minutes from two minutes, else seconds."""
    return 3600 if value >= 172800 else 60 if value >= 120 else 1


def _spelled(value: int, step: int) -> str:
    """`value` seconds (a multiple of `step`) in whole units down to `step`: "2 d 3 h 12 min", "0 min"."""
    parts = []
    for size, unit in _UNITS:
        if size < step:
            break
        amount, value = divmod(value, size)
        if amount:
            parts.append(f"{amount} {unit}")
    return " ".join(parts) or f"0 {dict(_UNITS)[step]}"


def duration_bounds(low, high) -> str:
    """Bounds of a duration in seconds (a time to removal {low, high}) as "low – high", precise enough that
    distinct bounds read distinct: in whole units down to a step no larger than their difference (hours on a
    multi-day TTR, minutes or seconds when the bounds are that close), the low bound rounded down and the high
    one up (the shown interval holds the true one). Equal bounds are one value, at `seconds`' precision."""
    if low is None or high is None:
        return seconds(high if low is None else low)
    low, high = sorted((max(0, int(low)), max(0, int(high))))
    if low == high:
        step = _natural_step(low)
        return _spelled((low + step // 2) // step * step, step)
    step = min(_natural_step(high), next(size for size, _ in _UNITS if size <= high - low))
    return f"{_spelled(low // step * step, step)} – {_spelled(-(-high // step) * step, step)}"


@register.filter
def event_kind(kind: str) -> str:
    """A kind of event in words ("url.traced": "Hosting traced")."""
    return event_label(kind)


@register.filter
def defang(value: str) -> str:
    return _defang(value or "")


@register.filter
def link_own_urls(text: str) -> str:
    """Escape `text` and turn only our own links (PUBLIC_BASE_URL…) into anchors: nothing from a reported site
    is ever linked (URLs from reports appear defanged, and would not match anyway)."""
    base = re.escape(settings.PUBLIC_BASE_URL.rstrip("/"))
    pattern = re.compile(rf"{base}/[^\s<>\"']*")
    parts, last = [], 0
    for match in pattern.finditer(text):
        parts.append(escape(text[last : match.start()]))
        parts.append(format_html('<a href="{0}">{0}</a>', match.group(0)))
        last = match.end()
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece above is escaped or built by format_html


@register.simple_tag
def work_queues() -> list[dict]:
    """The analyst's queues with their live counts (notices/selectors/queues.py), for the admin index and
    the URL list."""
    return queue_counts(now=timezone.now())


@register.simple_tag(takes_context=True)
def my_cases(context) -> int:
    """The signed-in analyst's open assigned cases (the "My cases" link)."""
    return my_cases_count(context["request"].user.pk)


@register.filter
def percent(value) -> str:
    """A share (0–1) as a percentage with one decimal; none (no cases) as a dash."""
    if value is None:
        return "—"
    return f"{100 * value:.1f} %"


@register.filter
def bounds(interval) -> str:
    """A {low, high} pair of seconds as "low – high" (∞: no upper bound yet, cases still up)."""
    if not interval or interval.get("low") is None:
        return "—"
    high = "∞" if interval.get("high") is None else seconds(interval["high"])
    return f"{seconds(interval['low'])} – {high}"


@register.filter
def share_bounds(interval) -> str:
    """A {low, high} pair of shares as "low – high"."""
    if not interval:
        return "—"
    return f"{percent(interval['low'])} – {percent(interval['high'])}"


@register.simple_tag
def open_alerts() -> int:
    """How many alerts need a human (the admin header's count)."""
    return open_alert_count()
