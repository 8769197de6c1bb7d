"""Reads of routing: which partner hotline takes hand-offs for a country."""

from __future__ import annotations

from notices.models import Partner


def handoff_partner(country: str) -> Partner | None:
    """The partner hotline that takes over content hosted in `country`, if any."""
    if not country:
        return None
    return Partner.objects.filter(receives_handoffs=True, country=country.upper()).order_by("pk").first()


def handoff_countries() -> set[str]:
    """Countries whose partner hotline takes hand-offs (one query for a whole batch of URLs)."""
    return set(Partner.objects.filter(receives_handoffs=True).values_list("country", flat=True))
