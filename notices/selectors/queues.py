"""The analyst's work queues: which cases each holds, and their live counts.

Each queue is a condition on the URL table. Overdue: a notified case with an open item in a sent notice past
its deadline; disputed: an open case with an item its provider disputed; reappeared: an open case whose
content came back after a confirmed removal; ready to notify: assessed, traced to a provider and in no
open notice (a draft waits on the notices list); to verify (only while four-eyes verification is on,
`settings.FOUR_EYES_VERIFICATION`): assessed illegal, not noticed yet, its assessment not verified by a second
analyst.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db.models import Exists, OuterRef, Q

from notices.enums import ItemStatus, Legality, NoticeStatus, UrlStatus
from notices.models import NoticeItem, Url

# Queue key → label, in the order an analyst works them.
QUEUES = {
    "new": "New reports, awaiting assessment",
    "untraced": "Awaiting trace",
    "verify": "To verify (four eyes)",
    "ready": "Ready to notify",
    "notified": "Notified and live",
    "overdue": "Overdue (past the notice deadline)",
    "disputed": "Disputed",
    "reappeared": "Reappeared",
    "closed": "Closed",
}
COUNT_CAP = 1_000  # the queue links say "1000+" beyond: a count of what is there costs what is counted
_OPEN = [UrlStatus.NEW, UrlStatus.ASSESSED, UrlStatus.NOTIFIED]
_SENT = [NoticeStatus.SENT, NoticeStatus.ACKNOWLEDGED, NoticeStatus.DISPUTED]


def _overdue_items(now: datetime):
    return NoticeItem.objects.filter(is_open=True, notice__status__in=_SENT, notice__deadline_at__lt=now)


def _disputed_items():
    return NoticeItem.objects.filter(is_open=True, status=ItemStatus.DISPUTED)


def queue_condition(key: str, *, now: datetime) -> Q:
    """The condition on Url that selects the queue `key` (a key of QUEUES; KeyError otherwise)."""
    conditions = {
        "new": lambda: Q(status=UrlStatus.NEW),
        "untraced": lambda: Q(status=UrlStatus.ASSESSED, provider__isnull=True),
        "ready": lambda: (
            Q(status=UrlStatus.ASSESSED, provider__isnull=False)
            & ~Exists(NoticeItem.objects.filter(url=OuterRef("pk"), is_open=True))
        ),
        "notified": lambda: Q(status=UrlStatus.NOTIFIED),
        "overdue": lambda: (
            Q(status=UrlStatus.NOTIFIED) & Exists(_overdue_items(now).filter(url=OuterRef("pk")))
        ),
        "disputed": lambda: Q(status__in=_OPEN) & Exists(_disputed_items().filter(url=OuterRef("pk"))),
        "reappeared": lambda: Q(status__in=_OPEN, reappearance_count__gt=0),
        "closed": lambda: Q(status=UrlStatus.CLOSED),
        "verify": lambda: Q(
            status=UrlStatus.ASSESSED,
            current_assessment__legality__in=[Legality.ILLEGAL_INTERNATIONAL, Legality.ILLEGAL_NATIONAL],
            current_assessment__verified_at__isnull=True,
        ),
    }
    return conditions[key]()


def active_queues() -> dict[str, str]:
    """The queues shown: QUEUES, less "to verify" while four-eyes verification is off."""
    return {k: v for k, v in QUEUES.items() if k != "verify" or settings.FOUR_EYES_VERIFICATION}


def queue_counts(*, now: datetime) -> list[dict]:
    """Each queue with its key, label and live count, in the order of QUEUES: one COUNT per queue, each
    narrowed by the status index (`url_status_idx`); ready, overdue and disputed look up each case's open
    notice items by the partial unique index on open items (`item_one_open_notice_per_provider`, which leads
    with the URL). A count stops at COUNT_CAP (`capped`: "1000+"), so a large queue (closed cases over the
    years) costs no more than a small one."""
    queues = []
    for key, label in active_queues().items():
        count = Url.objects.filter(queue_condition(key, now=now))[: COUNT_CAP + 1].count()
        queues.append(
            {"key": key, "label": label, "count": min(count, COUNT_CAP), "capped": count > COUNT_CAP}
        )
    return queues


def my_cases_count(user_id: int) -> int:
    """How many open cases are assigned to this analyst (the "My cases" link; by `url_assigned_idx`)."""
    return Url.objects.filter(assigned_to_id=user_id, status__in=_OPEN)[: COUNT_CAP + 1].count()
