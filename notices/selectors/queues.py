"""The analyst's work queues: which cases each holds, and their live counts.

Each queue is a condition on the URL table. Overdue: a notified case with an open item in a sent notice past
its deadline; disputed: an open case with an item its provider disputed; reappeared: an open case whose
content came back after a confirmed removal.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from notices.enums import ItemStatus, NoticeStatus, UrlStatus
from notices.models import NoticeItem, Url

# Queue key → label, in the order an analyst works them.
QUEUES = {
    "new": "New reports, awaiting assessment",
    "untraced": "Awaiting trace",
    "ready": "Ready to notify",
    "notified": "Notified and live",
    "overdue": "Overdue (past the notice deadline)",
    "disputed": "Disputed",
    "reappeared": "Reappeared",
    "closed": "Closed",
}
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
        "ready": lambda: Q(status=UrlStatus.ASSESSED, provider__isnull=False),
        "notified": lambda: Q(status=UrlStatus.NOTIFIED),
        "overdue": lambda: Q(status=UrlStatus.NOTIFIED, pk__in=_overdue_items(now).values("url_id")),
        "disputed": lambda: Q(status__in=_OPEN, pk__in=_disputed_items().values("url_id")),
        "reappeared": lambda: Q(status__in=_OPEN, reappearance_count__gt=0),
        "closed": lambda: Q(status=UrlStatus.CLOSED),
    }
    return conditions[key]()


def queue_counts(*, now: datetime) -> list[dict]:
    """Each queue with its key, label and live count, in the order of QUEUES: one COUNT per queue, each
    narrowed by the status index (`url_status_idx`; new, notified and closed are counted from the index alone;
    overdue and disputed join the open notice items by their URL, the index on NoticeItem.url)."""
    return [
        {"key": key, "label": label, "count": Url.objects.filter(queue_condition(key, now=now)).count()}
        for key, label in QUEUES.items()
    ]
