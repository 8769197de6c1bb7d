"""Provider responses to a notice: acknowledge, removed, disputes. Portal and API call the same function."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from django.db import transaction

from notices.enums import AlertKind, ClockStart, NoticeStatus, ResponseAction
from notices.errors import NoticeError
from notices.infra import enqueue
from notices.infra.events import actor_label, record_event
from notices.models import Notice, NoticeItem, ProviderResponse
from notices.services import orders
from notices.services.alerts import raise_alert
from notices.services.holds import pause_for_response
from notices.services.notices import acknowledge, dispute, items_reported_removed
from notices.services.signals import removal_reported
from notices.services.sor import StatementError, from_trusted_flagger, validate_statement
from notices.services.urls import check_now

RESPONDABLE = {NoticeStatus.SENT, NoticeStatus.ACKNOWLEDGED, NoticeStatus.DISPUTED}
DISPUTES = {ResponseAction.NOT_OUR_CUSTOMER, ResponseAction.REFUSED}


def record_response(
    *,
    notice: Notice,
    action: str,
    now: datetime,
    url_ids: list[int] | None = None,
    message: str = "",
    statement_of_reasons: dict | None = None,
    user=None,
    api_key=None,
    suggested_provider: str = "",
) -> ProviderResponse:
    """Record a provider's answer to a notice it received.

    Side effects: `acknowledge` (and any first answer) stamps acknowledged_at on the notice and its URLs;
    `removed` marks the items as reported removed and makes their URLs due for an immediate verification check
    (the checker, not the provider, confirms removal); `not_our_customer` and `refused` mark the items
    disputed and the notice `disputed` (back to the analyst queue, and an alert in the alert queue;
    `suggested_provider`, free text, goes into the event for the analyst; `not_our_customer` also queues a
    re-trace of each URL it names, after commit); `need_info` records the message, which opens the notice's
    thread with the analyst. `need_info` and `not_our_customer` pause the named URLs' SLA clock until the
    analyst answers (`holds.pause_for_response`); the first answer is the receipt of a removal order whose
    clock starts at acknowledgement. A statement of reasons given with `removed` must be valid in the DSA
    Transparency Database (v2) vocabulary (notices/services/sor.py; on a trusted flagger's notice its source
    type is SOURCE_TRUSTED_FLAGGER) and is stored normalised; with other actions it is stored as given.
    Writes `notice.response`. Raises NoticeError for URLs outside the notice, a notice not yet sent or an
    invalid statement (`{"statement_of_reasons": {field: [messages]}}`).
    """
    if action == ResponseAction.REMOVED and statement_of_reasons:
        try:
            statement_of_reasons = validate_statement(
                statement_of_reasons, trusted_flagger=from_trusted_flagger(notice)
            )
        except StatementError as exc:
            raise NoticeError({"statement_of_reasons": exc.errors}) from None
    with transaction.atomic():
        notice = Notice.objects.select_for_update().get(pk=notice.pk)
        if notice.status not in RESPONDABLE:
            raise NoticeError(
                {"detail": [f"Notice {notice.reference} cannot be answered while {notice.status}."]}
            )
        items = _items(notice, url_ids)
        response = ProviderResponse.objects.create(
            notice=notice,
            action=action,
            message=message,
            statement_of_reasons=statement_of_reasons or {},
            user=user if getattr(user, "is_authenticated", False) else None,
            api_key=api_key,
            created_at=now,
        )
        response.urls.set([item.url_id for item in items])
        _apply(notice, action, items, now)
        data = {"action": action, "urls": [item.url_id for item in items], "message": message[:500]}
        if suggested_provider and action == ResponseAction.NOT_OUR_CUSTOMER:
            data["suggested_provider"] = suggested_provider[:200]
        record_event(
            "notice.response", at=now, notice=notice, actor=actor_label(user=user, api_key=api_key), data=data
        )
    return response


def _items(notice: Notice, url_ids: list[int] | None) -> list[NoticeItem]:
    items = list(notice.items.all())
    if not url_ids:
        return items
    by_url = {item.url_id: item for item in items}
    unknown = sorted(set(url_ids) - set(by_url))
    if unknown:
        raise NoticeError({"urls": [f"URL {pk} is not in notice {notice.reference}." for pk in unknown]})
    return [by_url[pk] for pk in dict.fromkeys(url_ids)]


def _apply(notice: Notice, action: str, items: list[NoticeItem], now: datetime) -> None:
    """What the answer means for the notice and its URLs; each state goes to its owner."""
    url_ids = [item.url_id for item in items]
    acknowledge(notice, at=now)  # the first answer, whichever URLs it names, acknowledges the notice
    if action == ResponseAction.REMOVED:
        items_reported_removed(items, at=now)
        check_now(url_ids, now=now)
        transaction.on_commit(partial(removal_reported.send, sender=Notice, notice=notice, url_ids=url_ids))
    elif action in DISPUTES:
        dispute(notice, items)
        if action == ResponseAction.NOT_OUR_CUSTOMER:  # the portal promises it: the hosting traced again
            for url_id in url_ids:
                enqueue.after_commit(enqueue.TRACE_URL, url_id)
        raise_alert(
            kind=AlertKind.DISPUTE,
            key=f"{AlertKind.DISPUTE}:{notice.pk}",
            summary=f"Notice {notice.reference} disputed by {notice.provider}: "
            f"{ResponseAction(action).label.lower()} ({len(items)} URL{'s' if len(items) != 1 else ''}).",
            now=now,
            notice=notice,
        )
    pause_for_response(notice=notice, action=action, url_ids=url_ids, now=now)
    notice.save(update_fields=["acknowledged_at", "status"])
    orders.received(notice, at=now, by=ClockStart.ACKNOWLEDGEMENT)
