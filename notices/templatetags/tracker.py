"""Template filters shared by the admin, the dashboard and the portal."""

from django import template

from notices.canonical import defang as _defang

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
