"""A case's disputes in one place: which notices' providers answered "not our customer" (or refused), what
they said, whom they suggested, and the known providers that suggestion may name."""

from __future__ import annotations

from django.db.models import Q

from notices.enums import ItemStatus, ResponseAction
from notices.models import Event, HostingProvider, NoticeItem, ProviderResponse, Url

SUGGESTIONS_SHOWN = 5


def case_disputes(url: Url) -> list[dict]:
    """The case's disputed notice items, newest notice first, each with the provider's answers naming the
    case (action, when, message) and the provider it suggested (free text, from the response's event)."""
    items = (
        NoticeItem.objects.filter(url=url, status=ItemStatus.DISPUTED)
        .select_related("notice__provider")
        .order_by("-notice_id")
    )
    rows = []
    for item in items:
        notice = item.notice
        answers = ProviderResponse.objects.filter(notice=notice, urls=url).order_by("created_at", "pk")
        suggested = [
            event.data["suggested_provider"]
            for event in Event.objects.filter(notice=notice, kind="notice.response").order_by("at", "pk")
            if url.pk in (event.data.get("urls") or []) and event.data.get("suggested_provider")
        ]
        rows.append(
            {
                "notice": notice,
                "provider": notice.provider,
                "open": item.is_open,
                "answers": [
                    {"action": a.get_action_display(), "at": a.created_at, "message": a.message}
                    for a in answers
                ],
                "not_our_customer": any(a.action == ResponseAction.NOT_OUR_CUSTOMER for a in answers),
                "suggested": suggested[-1] if suggested else "",
            }
        )
    return rows


def suggested_providers(text: str, *, exclude: list[int]) -> list[HostingProvider]:
    """Known providers the suggestion may name: by name or slug, or by an abuse contact's domain."""
    words = [w.strip(" ,.;()<>\"'").lower() for w in text.split()]
    words = [w for w in words if len(w) >= 3][:6]
    if not words:
        return []
    match = Q()
    for word in words:
        domain = word.rsplit("@", 1)[-1]
        match |= (
            Q(name__icontains=word) | Q(slug__icontains=word) | Q(contacts__email__iendswith=f"@{domain}")
        )
    found = HostingProvider.objects.filter(match).exclude(pk__in=exclude).distinct().order_by("name")
    return list(found[:SUGGESTIONS_SHOWN])
