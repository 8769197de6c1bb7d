"""Notice reads. Provider-facing code gets notices only through `notices_for_provider` (one door)."""

from __future__ import annotations

from django.db.models import QuerySet

from notices.enums import HIDDEN_FROM_PROVIDER
from notices.models import HostingProvider, Notice

__all__ = ["HIDDEN_FROM_PROVIDER", "notices_for_provider"]


def notices_for_provider(provider: HostingProvider) -> QuerySet[Notice]:
    """The notices one provider may see: its own, once delivered. Every portal view and provider API uses
    this."""
    return (
        Notice.objects.filter(provider=provider)
        .exclude(status__in=HIDDEN_FROM_PROVIDER)
        .select_related("provider")
    )
