"""Helpers shared by admin pages: defanged URLs, badges, read-only timelines."""

from __future__ import annotations

from django.utils.html import format_html

from notices.canonical import defang


def defanged(value: str) -> str:
    return format_html('<span class="url">{}</span>', defang(value))


def badge(value: str, label: str | None = None) -> str:
    return format_html('<span class="badge {}">{}</span>', value, label or value)


class ReadOnlyInline:
    """Inline that shows history rows; nothing is added, changed or deleted from here."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
