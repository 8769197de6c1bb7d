"""Analyst alerts: cases that need a human, in the admin's alert queue, in a daily digest and — when a notice
cannot reach its provider or an escalation step fails — in a mail at once.

Every alert is an `AnalystAlert` row in the queue (open → acknowledged → resolved), one open row per cause
(`key`): a step failing again, a bounce ingested twice, add nothing. Raised when the outbox gives up on a
message (a permanent 5xx, or its attempts used up), when a DSN bounce marks a provider's contacts as failing,
when an escalation step fails or its ladder says so (still up past the deadline), when a provider disputes a
notice and when removed content reappears. An alert about a notice is also one `notice.analyst_alert` event on
the notice's timeline (written in the caller's transaction) and, after commit, one plain-text mail sent by
the task `notices.send_analyst_alert`, which retries on SMTP errors; a mail sent is a
`notice.analyst_alert_mailed` event naming the alert (the timeline is append-only: the alert's own row
never changes). Mails name the notice reference, the
provider, the contacts, the error and the admin page; they never carry a reported URL as it is, nor any
content. The digest (task `notices.send_alert_digest`, daily) counts the open alerts by kind and lists the
oldest.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from notices.canonical import URL_LIKE, defang
from notices.delivery.mail import new_mail, render_templates, send
from notices.enums import AlertKind, AlertStatus
from notices.infra import enqueue
from notices.infra.events import record_event
from notices.models import AnalystAlert, Event, Notice

logger = logging.getLogger(__name__)

ALERT_EVENT = "notice.analyst_alert"
MAILED_EVENT = "notice.analyst_alert_mailed"
REASONS = {
    "delivery_failed": "could not be delivered",
    "bounced": "bounced",
    AlertKind.STEP_FAILED: "has an escalation step that failed (it is retried)",
    AlertKind.OVERDUE: "is still up past its deadline (escalation ladder)",
    AlertKind.ORDER_BREACHED: (
        "carries a removal order whose legal deadline ran out with the content still up"
    ),
}
ALERT_KINDS = {"delivery_failed": AlertKind.DELIVERY_FAILED, "bounced": AlertKind.FAILING_CONTACT}


def alert_delivery_failed(
    *, notice: Notice, contacts: list[str], error: str, now: datetime, reason: str = "delivery_failed"
) -> Event:
    """Alert the analysts that `notice` did not reach `contacts` (`reason`: delivery_failed or bounced).

    Side effects: a `notice.analyst_alert` event (data: reason, contacts, error with URLs defanged); after the
    caller's transaction commits, the task `notices.send_analyst_alert` mails it.
    """
    event = record_event(
        ALERT_EVENT,
        at=now,
        notice=notice,
        data={"reason": reason, "contacts": contacts, "error": defang_text(error)[:500]},
    )
    enqueue.after_commit(enqueue.SEND_ANALYST_ALERT, event.pk)
    kind = ALERT_KINDS.get(reason, AlertKind.DELIVERY_FAILED)
    _open(
        kind=kind,
        key=f"{kind}:notice:{notice.pk}",
        summary=f"Notice {notice.reference} to {notice.provider} {REASONS.get(reason, reason)}: "
        f"{', '.join(contacts) or 'no contact'}.",
        now=now,
        notice=notice,
        provider_id=notice.provider_id,
        data={"contacts": contacts, "error": defang_text(error)[:500], "event": event.pk},
    )
    return event


def raise_alert(
    *,
    kind: str,
    key: str,
    summary: str,
    now: datetime,
    notice: Notice | None = None,
    url=None,
    provider_id: int | None = None,
    error: str = "",
    mail: bool = False,
) -> AnalystAlert | None:
    """Put a case in the analysts' alert queue, unless an alert for `key` is open already (then None).

    Side effects: an AnalystAlert; with `mail` and a notice, a `notice.analyst_alert` event on the notice's
    timeline and its mail after commit (`send_alert`); otherwise an `alert.raised` event on the case's
    timeline."""
    data = {"error": defang_text(error)[:500]} if error else {}
    alert = _open(
        kind=kind,
        key=key,
        summary=defang_text(summary),
        now=now,
        notice=notice,
        url=url,
        provider_id=notice.provider_id if notice is not None else provider_id,
        data=data,
    )
    if alert is None:
        return None
    if mail and notice is not None:
        event = record_event(
            ALERT_EVENT,
            at=now,
            notice=notice,
            url=url,
            data={"reason": kind, "contacts": [], "error": data.get("error", ""), "alert": alert.pk},
        )
        enqueue.after_commit(enqueue.SEND_ANALYST_ALERT, event.pk)
    else:
        record_event("alert.raised", at=now, url=url, notice=notice, data={"alert": alert.pk, "kind": kind})
    return alert


def _open(
    *, kind: str, key: str, summary: str, now: datetime, provider_id=None, **fields
) -> AnalystAlert | None:
    try:
        with transaction.atomic():  # a savepoint: an open alert for the key makes this a no-op
            return AnalystAlert.objects.create(
                kind=kind, key=key[:100], summary=summary, created_at=now, provider_id=provider_id, **fields
            )
    except IntegrityError:
        return None


def acknowledge_alerts(alert_ids: list[int], *, user, now: datetime) -> int:
    """Someone is on these open alerts. Returns how many changed."""
    return AnalystAlert.objects.filter(pk__in=alert_ids, status=AlertStatus.OPEN).update(
        status=AlertStatus.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=user
    )


def resolve_alerts(alert_ids: list[int], *, user, now: datetime) -> int:
    """These alerts are dealt with: they leave the queue (a new cause opens a new alert). Returns how many
    changed."""
    return (
        AnalystAlert.objects.filter(pk__in=alert_ids)
        .exclude(status=AlertStatus.RESOLVED)
        .update(status=AlertStatus.RESOLVED, resolved_at=now, resolved_by=user)
    )


def alert_recipients() -> list[str]:
    """ANALYST_ALERT_EMAILS, else the e-mail addresses of every active staff user."""
    if settings.ANALYST_ALERT_EMAILS:
        return list(settings.ANALYST_ALERT_EMAILS)
    staff = get_user_model().objects.filter(is_active=True, is_staff=True).exclude(email="")
    return sorted(set(staff.values_list("email", flat=True)))


def send_alert(*, event_id: int, now: datetime) -> str:
    """Mail one alert event to the analysts. Returns "sent", "already-sent", "no-recipients" or "missing".

    Side effects: the mail; a `notice.analyst_alert_mailed` event (data: the alert's id, `mailed_to`), so a
    re-run sends nothing. SMTP errors propagate (the task retries).
    """
    event = Event.objects.select_related("notice__provider").filter(pk=event_id, kind=ALERT_EVENT).first()
    if event is None or event.notice is None:
        return "missing"
    if Event.objects.filter(notice=event.notice, kind=MAILED_EVENT, data__alert=event.pk).exists():
        return "already-sent"
    recipients = alert_recipients()
    if not recipients:
        logger.warning("analyst alert %s for %s: no recipients configured", event.pk, event.notice.reference)
        return "no-recipients"
    subject, body = compose_alert(event)
    # Machine mail to our own people (`internal`): no auto-replies to it, and our inbound never takes it for
    # one.
    send(
        new_mail(
            idstring=f"alert-{event.pk}",
            subject=subject,
            text=body,
            recipients=recipients,
            now=now,
            internal=True,
        )
    )
    record_event(MAILED_EVENT, at=now, notice=event.notice, data={"alert": event.pk, "mailed_to": recipients})
    return "sent"


def compose_alert(event: Event) -> tuple[str, str]:
    """Subject and plain-text body of an alert mail (templates notices/mail/alert.*)."""
    notice = event.notice
    context = {
        "notice": notice,
        "provider": notice.provider,
        "what": REASONS.get(event.data.get("reason"), "could not be delivered"),
        "contacts": event.data.get("contacts") or [],
        "error": event.data.get("error") or "",
        "when": f"{timezone.localtime(event.at):%Y-%m-%d %H:%M:%S %Z}",
        "admin_url": settings.PUBLIC_BASE_URL + reverse("admin:notices_notice_change", args=[notice.pk]),
        "delivery": event.data.get("reason") in ALERT_KINDS,
        "queue_url": settings.PUBLIC_BASE_URL + reverse("admin:notices_analystalert_changelist"),
        "hotline_name": settings.HOTLINE_NAME,
    }
    subject, body, _html = render_templates(
        subject="notices/mail/alert.subject.txt",
        text="notices/mail/alert.txt",
        context=context,
        language=settings.LANGUAGE_CODE,
    )
    return subject, body


def defang_text(text: str) -> str:
    """`text` with every URL-like token defanged (safety rule 2): SMTP replies may quote what they refused."""
    return URL_LIKE.sub(lambda match: defang(match.group(0)), text)


DIGEST_EVENT = "alerts.digest"
DIGEST_LISTED = 25  # the oldest alerts the digest names one by one


def send_digest(*, now: datetime) -> str:
    """The daily digest of the alert queue to the analysts. Returns "sent", "already-sent" (today's went
    out), "empty" (nothing needs a human: no mail) or "no-recipients".

    Side effects: the mail (counts by kind, the oldest alerts, links to the queue); an `alerts.digest` event
    naming the day, so a second run that day sends nothing. SMTP errors propagate (the task retries)."""
    day = now.date().isoformat()
    if Event.objects.filter(kind=DIGEST_EVENT, data__date=day).exists():
        return "already-sent"
    pending = AnalystAlert.objects.exclude(status=AlertStatus.RESOLVED).select_related("notice")
    total = pending.count()
    if not total:
        return "empty"
    recipients = alert_recipients()
    if not recipients:
        return "no-recipients"
    counts = {AlertKind(kind).label: n for kind, n in _counts(pending)}
    base = settings.PUBLIC_BASE_URL
    context = {
        "day": day,
        "total": total,
        "counts": counts,
        "oldest": [
            {
                "alert": alert,
                "link": base + reverse("admin:notices_analystalert_change", args=[alert.pk]),
            }
            for alert in pending.order_by("created_at", "pk")[:DIGEST_LISTED]
        ],
        "queue_url": base + reverse("admin:notices_analystalert_changelist"),
        "hotline_name": settings.HOTLINE_NAME,
    }
    subject, body, _html = render_templates(
        subject="notices/mail/alert_digest.subject.txt",
        text="notices/mail/alert_digest.txt",
        context=context,
        language=settings.LANGUAGE_CODE,
    )
    send(
        new_mail(
            idstring=f"digest-{day}",
            subject=subject,
            text=body,
            recipients=recipients,
            now=now,
            internal=True,
        )
    )
    record_event(DIGEST_EVENT, at=now, data={"date": day, "alerts": total, "mailed_to": recipients})
    return "sent"


def _counts(alerts) -> list[tuple[str, int]]:
    return list(alerts.order_by("kind").values("kind").annotate(n=Count("pk")).values_list("kind", "n"))
