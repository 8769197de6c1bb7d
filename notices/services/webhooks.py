"""Webhook deliveries with the body providers get: the notice as the provider API shows it, for a repeat of
the notice (`notice.reminder`) which repeat it is, and for a superseded item (`notice.superseded`) which URL
the notice no longer asks for, since when and why."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from notices.delivery import webhooks
from notices.models import WebhookDelivery
from notices.selectors.representations import NoticeSerializer, ReminderSerializer, SupersededSerializer
from notices.services.escalation.delivery import record_webhook


def payload(delivery: WebhookDelivery) -> dict:
    """What the provider receives: the notice exactly as `GET /api/v1/provider/notices/{reference}/` shows
    it, and for a repeat the reminder as that notice lists it under `reminders`."""
    body = {"event": webhooks.event_name(delivery), "notice": NoticeSerializer(delivery.notice).data}
    if delivery.run is not None:
        body["reminder"] = ReminderSerializer(delivery.run).data
    if delivery.item is not None:
        body["superseded"] = SupersededSerializer(delivery.item).data
    return body


def deliver(delivery_id: int) -> str:
    """Send one claimed webhook delivery and record the outcome (see `notices.delivery.webhooks.deliver`); a
    repeat delivered goes on its cases' timelines."""
    outcome = webhooks.deliver(delivery_id, payload=payload)
    if outcome == WebhookDelivery.Status.DELIVERED:
        delivery = WebhookDelivery.objects.get(pk=delivery_id)
        if delivery.run_id is not None:
            with transaction.atomic():
                record_webhook(delivery, at=delivery.delivered_at or timezone.now())
    return outcome
