"""Template filters shared by the admin, the dashboard and the portal."""

import re

from django import template
from django.conf import settings
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from notices.canonical import defang as _defang
from notices.selectors.dashboard import open_alert_count

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
def open_alerts() -> int:
    """How many alerts need a human (the admin header's count)."""
    return open_alert_count()
