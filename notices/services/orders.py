"""Removal orders with legal clocks (`RemovalOrder`, `OrderPause`).

An order is recorded on a notice of type removal order (issuing authority, reference number, issue time,
addressee, legal basis, the time it allows). Its clock starts at **receipt**: by default the delivery (the
mail server accepted the notice, or it was made available to an API-only provider: `received` is called by
`mark_notices_sent`), or the provider's first answer when the order's `clock_starts` says acknowledgement
(called by `record_response`). A TCO order that gives no time allows TCO_ORDER_TIME (one hour); another order
without a time gets DEADLINE_REMOVAL_ORDER. The clock stands still during a pause for a recorded reason
(clarification requested, force majeure) and resumes after: `due_at` = receipt + time allowed + paused time
after receipt (blank while paused). The order sweep (`sweep_orders`, beat every ORDER_SWEEP_INTERVAL)
claims the orders whose clock ran out, as the escalation sweep claims cases (SKIP LOCKED, the partial index
of running clocks), and records each breach at the moment the clock ran out, alerting the analysts at once.
A URL that moved to another network before the clock ran out (its item superseded by a hop:
notices/services/hops.py) is no breach of the addressee's; when all of them have moved, the clock stops
(`superseded_at`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from notices.enums import (
    AlertKind,
    ClockStart,
    LegalBasis,
    NoticeStatus,
    NoticeType,
    OrderPauseReason,
    UrlStatus,
)
from notices.errors import NoticeError
from notices.infra.events import actor_label, new_event, record_events
from notices.models import Notice, NoticeItem, OrderPause, RemovalOrder, Url
from notices.services.alerts import raise_alert


def allowed(order: RemovalOrder) -> timedelta:
    """The time the order allows from receipt."""
    if order.time_allowed is not None:
        return order.time_allowed
    if order.legal_basis == LegalBasis.TCO:
        return timedelta(seconds=settings.TCO_ORDER_TIME)
    return timedelta(seconds=settings.DEADLINE_REMOVAL_ORDER)


def paused(order: RemovalOrder, *, since: datetime, now: datetime) -> timedelta:
    """The time the order's clock stood still after `since` (an open pause counts up to `now`)."""
    total = timedelta(0)
    for pause in order.pauses.all():
        start, end = max(pause.started_at, since), pause.ended_at or now
        if end > start:
            total += end - start
    return total


def clock(order: RemovalOrder, *, now: datetime) -> dict:
    """The clock as the admin and the API show it."""
    running = order.pauses.filter(ended_at=None).first()
    state = "not received"
    if order.breached_at:
        state = "breached"
    elif order.superseded_at:
        state = "superseded"
    elif order.removed_at:
        state = "removed in time"
    elif running is not None:
        state = "paused"
    elif order.received_at:
        state = "running"
    remaining = None
    if order.received_at and not (order.breached_at or order.removed_at or order.superseded_at):
        used = now - order.received_at - paused(order, since=order.received_at, now=now)
        remaining = int((allowed(order) - used).total_seconds())
    return {
        "state": state,
        "clock_starts": order.clock_starts,
        "time_allowed_seconds": int(allowed(order).total_seconds()),
        "received_at": order.received_at,
        "due_at": order.due_at,
        "remaining_seconds": remaining,
        "paused": None if running is None else {"reason": running.reason, "since": running.started_at},
        "paused_seconds": int(paused(order, since=order.received_at, now=now).total_seconds())
        if order.received_at
        else 0,
        "breached_at": order.breached_at,
        "removed_at": order.removed_at,
        "superseded_at": order.superseded_at,
    }


def order_errors(
    *,
    notice: Notice | None,
    authority: str | None,
    reference: str | None,
    issued_at: datetime | None,
    addressee: str | None,
    legal_basis: str | None,
    now: datetime,
    time_allowed: timedelta | None = None,
    clock_starts: str | None = None,
    legal_basis_detail: str | None = "",
) -> dict[str, list[str]]:
    """What is wrong with an order to be recorded, by field (empty: nothing)."""
    errors: dict[str, list[str]] = {}
    if notice is None:
        errors["notice"] = ["This field is required."]
    elif notice.notice_type != NoticeType.REMOVAL_ORDER:
        errors["notice"] = [f"Notice {notice.reference} is not a removal order."]
    elif notice.status == NoticeStatus.WITHDRAWN:
        errors["notice"] = [f"Notice {notice.reference} was withdrawn."]
    elif RemovalOrder.objects.filter(notice=notice).exists():
        errors["notice"] = [f"Notice {notice.reference} already carries an order."]
    for name, value in (("authority", authority), ("reference", reference), ("addressee", addressee)):
        if not (value or "").strip():
            errors[name] = ["This field is required."]
    if legal_basis not in LegalBasis.values:
        errors["legal_basis"] = [f"One of {', '.join(LegalBasis.values)}."]
    if issued_at is None:
        errors["issued_at"] = ["This field is required."]
    elif issued_at > now:
        errors["issued_at"] = ["An order cannot be issued in the future."]
    if time_allowed is not None and time_allowed <= timedelta(0):
        errors["time_allowed"] = ["The time allowed must be longer than zero."]
    if (clock_starts or settings.ORDER_CLOCK_START) not in ClockStart.values:
        errors["clock_starts"] = [f"One of {', '.join(ClockStart.values)}."]
    authority, reference = (authority or "").strip(), (reference or "").strip()
    known = RemovalOrder.objects.filter(authority=authority, reference=reference)
    if "reference" not in errors and "authority" not in errors and known.exists():
        errors["reference"] = ["This authority's order with this reference is already recorded."]
    return errors


def create_order(
    *,
    notice: Notice,
    authority: str,
    reference: str,
    issued_at: datetime,
    addressee: str,
    legal_basis: str,
    now: datetime,
    legal_basis_detail: str = "",
    time_allowed: timedelta | None = None,
    clock_starts: str | None = None,
    user=None,
) -> RemovalOrder:
    """Record the order a removal-order notice carries (its clock starts at once when the notice was
    received already). Raises NoticeError with field messages (`order_errors`)."""
    errors = order_errors(
        notice=notice,
        authority=authority,
        reference=reference,
        issued_at=issued_at,
        addressee=addressee,
        legal_basis=legal_basis,
        now=now,
        time_allowed=time_allowed,
        clock_starts=clock_starts,
    )
    if errors:
        raise NoticeError(errors)
    clock_starts = clock_starts or settings.ORDER_CLOCK_START
    with transaction.atomic():
        order = RemovalOrder.objects.create(
            notice=notice,
            authority=authority.strip(),
            reference=reference.strip(),
            issued_at=issued_at,
            addressee=addressee.strip(),
            legal_basis=legal_basis,
            legal_basis_detail=legal_basis_detail or "",
            time_allowed=time_allowed,
            clock_starts=clock_starts,
            created_at=now,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        _events(order, now, f"Removal order {order} ({order.get_legal_basis_display()}) recorded.", user)
        if clock_starts == ClockStart.DELIVERY and notice.sent_at is not None:
            _receive(order, notice.sent_at, now)
        elif clock_starts == ClockStart.ACKNOWLEDGEMENT and notice.acknowledged_at is not None:
            _receive(order, notice.acknowledged_at, now)
    return order


def received(notice: Notice, *, at: datetime, by: str) -> None:
    """The notice reached its provider (`by`: delivery or acknowledgement): the clock of an order it
    carries, counting from that receipt, starts (once)."""
    if notice.notice_type != NoticeType.REMOVAL_ORDER:
        return
    order = RemovalOrder.objects.filter(notice=notice, clock_starts=by, received_at=None).first()
    if order is not None:
        _receive(order, at, at)


def received_many(notices, *, at: datetime) -> None:
    """Delivery of many notices at once (`mark_notices_sent`)."""
    for notice in notices:
        received(notice, at=at, by=ClockStart.DELIVERY)


def _receive(order: RemovalOrder, at: datetime, now: datetime) -> None:
    order.received_at = at
    open_pause = order.pauses.filter(ended_at=None).exists()
    order.due_at = None if open_pause else at + allowed(order) + paused(order, since=at, now=now)
    order.save(update_fields=["received_at", "due_at"])
    due = f"; due {order.due_at:%Y-%m-%d %H:%M} UTC" if order.due_at else ""
    _events(order, now, f"Removal order {order} received {at:%Y-%m-%d %H:%M:%S} UTC: the clock starts{due}.")


def pause_order(*, order: RemovalOrder, reason: str, now: datetime, note: str = "", user=None) -> OrderPause:
    """Stop the order's clock for a recorded reason. Raises NoticeError when it is paused already, has
    ended, or the reason is unknown."""
    with transaction.atomic():
        order = RemovalOrder.objects.select_for_update().get(pk=order.pk)
        if reason not in OrderPauseReason.values:
            raise NoticeError({"reason": [f"One of {', '.join(OrderPauseReason.values)}."]})
        if order.breached_at or order.removed_at or order.superseded_at:
            raise NoticeError({"detail": [f"The clock of {order} has ended."]})
        if order.pauses.filter(ended_at=None).exists():
            raise NoticeError({"detail": [f"The clock of {order} is paused already."]})
        pause = OrderPause.objects.create(
            order=order,
            reason=reason,
            note=note,
            started_at=now,
            started_by=user if getattr(user, "is_authenticated", False) else None,
        )
        order.due_at = None
        order.save(update_fields=["due_at"])
        _events(
            order, now, f"Clock of removal order {order} paused: {pause.get_reason_display()}. {note}", user
        )
    return pause


def resume_order(*, order: RemovalOrder, now: datetime, user=None) -> RemovalOrder:
    """Run the order's clock again: due later by the time it stood still."""
    with transaction.atomic():
        order = RemovalOrder.objects.select_for_update().get(pk=order.pk)
        pause = order.pauses.filter(ended_at=None).first()
        if pause is None:
            raise NoticeError({"detail": [f"The clock of {order} is not paused."]})
        pause.ended_at = now
        pause.save(update_fields=["ended_at"])
        if order.received_at is not None and order.superseded_at is None:
            order.due_at = (
                order.received_at + allowed(order) + paused(order, since=order.received_at, now=now)
            )
            order.save(update_fields=["due_at"])
        due = f" Now due {order.due_at:%Y-%m-%d %H:%M} UTC." if order.due_at else ""
        minutes = int((now - pause.started_at).total_seconds() // 60)
        _events(order, now, f"Clock of removal order {order} runs again after {minutes} min.{due}", user)
    return order


def sweep_orders(*, now: datetime, limit: int = 500) -> int:
    """Claim the orders whose clock ran out (SKIP LOCKED: two sweeps never take one) and record what each
    came to: breached (content still up at the due time: `breached_at` = the due time, to the minute; the
    analysts are alerted at once) or removed in time. Returns the breaches recorded."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT id FROM {RemovalOrder._meta.db_table}
                    WHERE due_at <= %s AND breached_at IS NULL AND removed_at IS NULL AND due_at IS NOT NULL
                      AND superseded_at IS NULL
                    ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED""",
                [now, limit],
            )
            ids = [row[0] for row in cursor.fetchall()]
        breaches = 0
        for order in RemovalOrder.objects.filter(pk__in=ids).select_related("notice__provider"):
            up = _up_at(order, order.due_at)
            if up:
                order.breached_at = order.due_at
                order.save(update_fields=["breached_at"])
                breaches += 1
                text = (
                    f"Removal order {order} breached at {order.breached_at:%Y-%m-%d %H:%M} UTC: "
                    f"{len(up)} URL{'s' if len(up) != 1 else ''} still up when the legal deadline ran out "
                    f"(received {order.received_at:%Y-%m-%d %H:%M} UTC, "
                    f"{int(allowed(order).total_seconds() // 60)} min allowed)."
                )
                _events(order, now, text, kind="order.breached")
                raise_alert(
                    kind=AlertKind.ORDER_BREACHED,
                    key=f"{AlertKind.ORDER_BREACHED}:{order.pk}",
                    summary=text,
                    now=now,
                    notice=order.notice,
                    error=text,
                    mail=True,
                )
            else:
                order.removed_at = order.due_at
                order.save(update_fields=["removed_at"])
                _events(order, now, f"Removal order {order}: every URL was removed before its deadline.")
    return breaches


def _up_at(order: RemovalOrder, due: datetime) -> list[int]:
    """The order's URLs not certainly gone by `due`: still up, or last seen live after it — in the
    addressee's network (an item superseded by then moved away: no breach of the addressee's)."""
    up = []
    items = NoticeItem.objects.filter(notice=order.notice).exclude(superseded_at__lte=due)
    for url in Url.objects.filter(pk__in=items.values("url_id")):
        if url.status == UrlStatus.NOTIFIED or (url.removed_low is not None and url.removed_low >= due):
            up.append(url.pk)
    return up


def _events(order: RemovalOrder, now: datetime, text: str, user=None, *, kind: str = "order.clock") -> None:
    """The same words on the notice's timeline (once) and on each of its cases'."""
    url_ids = list(NoticeItem.objects.filter(notice_id=order.notice_id).values_list("url_id", flat=True))
    actor = actor_label(user=user)
    notice = Notice(pk=order.notice_id)
    data = {"order": order.pk, "text": " ".join(text.split())}
    record_events(
        [new_event(kind, at=now, notice=notice, actor=actor, data=data)]
        + [new_event(kind, at=now, url=Url(pk=pk), actor=actor, data=data) for pk in url_ids]
    )
