"""Notice reads. Provider-facing code gets notices only through `notices_for_provider` (one door)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from notices.enums import HIDDEN_FROM_PROVIDER, NoticeStatus, OutboxStatus, ResponseAction, WithdrawReason
from notices.models import Event, HostingProvider, Notice, OutgoingMessage, ProviderResponse

__all__ = ["HIDDEN_FROM_PROVIDER", "notices_for_provider"]

# A notice withdrawn before it reached its provider was never the provider's to see.
NEVER_DELIVERED = Q(status=NoticeStatus.WITHDRAWN, sent_at__isnull=True)


# A notice still queued whose mail may have reached the provider: handed to its server with no answer
# recorded yet (an attempt under way, or its worker died), or accepted with the bookkeeping still to come.
MAY_HAVE_ARRIVED = Q(status=NoticeStatus.QUEUED) & Exists(
    OutgoingMessage.objects.filter(notice=OuterRef("pk"), run=None, status=OutboxStatus.SENDING).filter(
        Q(in_doubt_since__isnull=False) | Q(sent_at__isnull=False)
    )
)


def notices_for_provider(provider: HostingProvider) -> QuerySet[Notice]:
    """The notices one provider may see: its own, once delivered (a withdrawn one too, shown as withdrawn),
    or once their mail may have arrived (`MAY_HAVE_ARRIVED`: the provider can hold the mail before its
    sending is recorded, and its links must work). Every portal view and provider API uses this."""
    return (
        Notice.objects.filter(provider=provider)
        .filter(~Q(status__in=HIDDEN_FROM_PROVIDER) | MAY_HAVE_ARRIVED)
        .exclude(NEVER_DELIVERED)
        .select_related("provider")
    )


def withdrawal_reason(notice: Notice):
    """Why the hotline withdrew the notice, as the provider is told (a WithdrawReason label, translated where
    it is shown); None for a notice not withdrawn."""
    if notice.status != NoticeStatus.WITHDRAWN:
        return None
    event = Event.objects.filter(notice=notice, kind="notice.withdrawn").order_by("-at", "-pk").first()
    reason = event.data.get("reason") if event else None
    return WithdrawReason(reason if reason in WithdrawReason.values else WithdrawReason.OTHER).label


def statement_responses(*, since=None, until=None, provider: str | None = None) -> QuerySet[ProviderResponse]:
    """Removals that came with a statement of reasons (staff export to the DSA Transparency Database), in the
    order given; `since`/`until` on when the statement was given, `provider` a slug."""
    responses = ProviderResponse.objects.filter(action=ResponseAction.REMOVED).exclude(
        statement_of_reasons={}
    )
    if since is not None:
        responses = responses.filter(created_at__gte=since)
    if until is not None:
        responses = responses.filter(created_at__lt=until)
    if provider is not None:
        responses = responses.filter(notice__provider__slug=provider)
    return responses.select_related("notice").order_by("pk")
