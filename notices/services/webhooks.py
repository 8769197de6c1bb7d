"""Webhook deliveries with the body providers get: the notice as the provider API shows it."""

from __future__ import annotations

from notices.delivery import webhooks
from notices.models import Notice
from notices.selectors.representations import NoticeSerializer


def payload(notice: Notice) -> dict:
    """What the provider receives: the notice exactly as `GET /api/v1/provider/notices/{reference}/` shows
    it."""
    return {"event": "notice.created", "notice": NoticeSerializer(notice).data}


def deliver(delivery_id: int) -> str:
    """Send one claimed webhook delivery and record the outcome (see `notices.delivery.webhooks.deliver`)."""
    return webhooks.deliver(delivery_id, payload=payload)
