"""A notice's message thread: the provider asks ("need more information"), the analyst replies."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notices.delivery.mail import new_mail, render_templates, send
from notices.enums import ResponseAction
from notices.infra.events import actor_label, record_event
from notices.models import AnalystReply, Notice, ProviderMembership
from notices.services.holds import end_pauses

logger = logging.getLogger(__name__)


class ThreadError(ValueError):
    pass


@dataclass
class ThreadEntry:
    """One message of the thread, whoever wrote it."""

    at: datetime
    from_provider: bool
    author: str
    body: str


def reply_to_provider(*, notice: Notice, author, body: str, now: datetime) -> AnalystReply:
    """Record the analyst's answer in the notice's thread.

    Side effects: an AnalystReply row, the end of the pauses the provider's questions or disputes started
    (`holds.end_pauses`), a `notice.reply` event and, after commit, a short mail (no URLs) to the
    provider's portal users saying there is a reply in the portal. Raises ThreadError for an empty body.
    """
    body = body.strip()
    if not body:
        raise ThreadError("A reply needs a text.")
    with transaction.atomic():
        reply = AnalystReply.objects.create(notice=notice, author=author, body=body, created_at=now)
        end_pauses(notice=notice, now=now, user=author, note="answered in the notice's thread")
        record_event(
            "notice.reply",
            at=now,
            notice=notice,
            actor=actor_label(user=author),
            data={"message": body[:500]},
        )
        transaction.on_commit(lambda: _mail_provider_users(notice))
    return reply


def _mail_provider_users(notice: Notice) -> None:
    """Best effort: the reply is in the portal whether or not this mail arrives."""
    recipients = list(
        ProviderMembership.objects.filter(provider=notice.provider_id)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if not recipients:
        return
    context = {
        "notice": notice,
        "link": f"{settings.PUBLIC_BASE_URL}/portal/notices/{notice.reference}/",
        "hotline": settings.HOTLINE_NAME,
    }
    subject, body, _html = render_templates(
        subject="notices/portal/mail/reply_subject.txt",
        text="notices/portal/mail/reply.txt",
        context=context,
        language=notice.provider.language,
    )
    try:
        send(
            new_mail(
                idstring=f"reply-{notice.reference}",
                subject=subject,
                text=body,
                recipients=recipients,
                now=timezone.now(),
            )
        )
    except OSError:
        logger.exception("could not mail the reply notification for %s", notice.reference)


def notice_thread(notice: Notice) -> list[ThreadEntry]:
    """The thread in time order: the provider's "need more information" messages and the analyst's replies."""
    asks = notice.responses.filter(action=ResponseAction.NEED_INFO).select_related("user", "api_key")
    entries = [
        ThreadEntry(
            r.created_at, True, r.user.get_username() if r.user else actor_label(api_key=r.api_key), r.message
        )
        for r in asks
    ]
    entries += [
        ThreadEntry(r.created_at, False, settings.HOTLINE_NAME, r.body) for r in notice.analyst_replies.all()
    ]
    return sorted(entries, key=lambda entry: entry.at)
