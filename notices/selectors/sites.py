"""Site groups: every case of one site (notices.canonical.site_of), for the analyst's site view."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from notices.enums import UrlStatus
from notices.models import Url

OPEN = (UrlStatus.NEW, UrlStatus.ASSESSED, UrlStatus.NOTIFIED)


@dataclass(frozen=True)
class SiteSummary:
    site: str
    cases: int
    open: int
    hosts: int


def cases_of_site(site: str) -> QuerySet[Url]:
    """The cases of `site`, newest first (the site index, `url_site_idx`)."""
    return Url.objects.filter(site=site).order_by("-id")


def site_summary(site: str) -> SiteSummary:
    """How many cases the site has, how many are open, on how many host names."""
    figures = cases_of_site(site).aggregate(
        cases=Count("id"), open=Count("id", filter=Q(status__in=OPEN)), hosts=Count("host", distinct=True)
    )
    return SiteSummary(site=site, **figures)


def hosts_of_site(site: str, *, limit: int = 100) -> list[tuple[str, int]]:
    """The site's host names with their case counts, the busiest first."""
    rows = cases_of_site(site).order_by().values("host").annotate(n=Count("id")).order_by("-n", "host")
    return [(row["host"], row["n"]) for row in rows[:limit]]
