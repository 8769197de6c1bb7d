"""Analyst alerts: a notice that cannot reach its provider is mailed to the analysts, not only shown on the
dashboard.

Raised when the outbox gives up on a message (a permanent 5xx, or its attempts used up) and when a DSN bounce
marks a provider's contacts as failing. Each alert is one `notice.analyst_alert` event on the notice's
timeline (written in the caller's transaction) and, after commit, one plain-text mail sent by the task
`notices.send_analyst_alert`, which retries on SMTP errors. The mail names the notice reference, the provider,
the contacts, the error and the notice's admin page; it never carries a reported URL as it is, nor any
content.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from notices.canonical import defang
from notices.delivery.mail import new_mail, render_templates, send
from notices.infra import enqueue
from notices.infra.events import record_event
from notices.models import Event, Notice

logger = logging.getLogger(__name__)

ALERT_EVENT = "notice.analyst_alert"
REASONS = {
    "delivery_failed": "could not be delivered",
    "bounced": "bounced",
    "step_failed": "has an escalation step that failed (it is retried)",
}
# URL-like tokens in an SMTP or DSN text (a filter may quote what it objected to): with a scheme, or
# host/path.
_URLISH = re.compile(r"[a-z][a-z0-9+.-]*://[^\s<>\"']+|\b[\w-]+(?:\.[\w-]+)+/[^\s<>\"']*", re.I)


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
    return event


def alert_recipients() -> list[str]:
    """ANALYST_ALERT_EMAILS, else the e-mail addresses of every active staff user."""
    if settings.ANALYST_ALERT_EMAILS:
        return list(settings.ANALYST_ALERT_EMAILS)
    staff = get_user_model().objects.filter(is_active=True, is_staff=True).exclude(email="")
    return sorted(set(staff.values_list("email", flat=True)))


def send_alert(*, event_id: int, now: datetime) -> str:
    """Mail one alert event to the analysts. Returns "sent", "already-sent", "no-recipients" or "missing".

    Side effects: the mail; the event's data gains `mailed_at` and `mailed_to` (a re-run sends nothing).
    SMTP errors propagate (the task retries).
    """
    event = Event.objects.select_related("notice__provider").filter(pk=event_id, kind=ALERT_EVENT).first()
    if event is None or event.notice is None:
        return "missing"
    if event.data.get("mailed_at"):
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
    Event.objects.filter(pk=event.pk).update(
        data={**event.data, "mailed_at": now.isoformat(), "mailed_to": recipients}
    )
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
    return _URLISH.sub(lambda match: defang(match.group(0)), text)
