"""Partner webhooks: a partner that set a webhook URL is told when a case it reported is noticed, removed or
closed — signed JSON through the same guarded, signed delivery as provider webhooks
(`notices.delivery.webhooks`: SSRF guard, no redirects, HMAC-SHA256 `X-Takedown-Signature`).

Outbox style: the service that changes the case calls `queue_case_event` in its own transaction, which
writes one pending `PartnerWebhookDelivery` per partner that reported the URL and has a webhook (one INSERT …
SELECT; the unique (partner, url, event) constraint offers each event once). The webhook sweep claims due
rows, sends them and records the outcome; retries live in the database (WEBHOOK_MAX_ATTEMPTS, backoff). A
partner's body names its own receipts only, never another partner's.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from notices.delivery import webhooks
from notices.infra.claims import claim, pending_or_expired
from notices.models import Partner, PartnerWebhookDelivery, Report
from notices.selectors.receipts import receipt_status

Event = PartnerWebhookDelivery.Event


def set_partner_webhook(*, partner: Partner, url: str) -> Partner:
    """Give `partner` the webhook `url` with a new signing secret (shown once to whoever set it), or turn
    its webhook off (`url` empty: URL and secret cleared; pending deliveries then fail at their next try).
    Raises webhooks.WebhookError for a URL that may not be registered."""
    url = webhooks.validate_webhook_url(url) if url.strip() else ""
    partner.webhook_url = url
    partner.webhook_secret = f"whsec_{secrets.token_urlsafe(32)}" if url else ""
    partner.save(update_fields=["webhook_url", "webhook_secret"])
    return partner


def queue_case_event(*, event: str, url_ids: Sequence[int], at: datetime) -> int:
    """Write a pending delivery of `event` about each of `url_ids` to every partner that reported it and has
    a webhook. Call inside the transaction that changes the cases. Returns the rows written."""
    if not url_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {PartnerWebhookDelivery._meta.db_table}
                    (partner_id, url_id, event, at, status, attempts, next_attempt_at, created_at, last_error)
                SELECT DISTINCT r.partner_id, r.url_id, %(event)s, %(at)s, 'pending', 0, now(), now(), ''
                FROM {Report._meta.db_table} r JOIN {Partner._meta.db_table} p ON p.id = r.partner_id
                WHERE r.url_id = ANY(%(urls)s) AND p.webhook_url <> ''
                ON CONFLICT DO NOTHING""",
            {"event": event, "at": at, "urls": list(url_ids)},
        )
        return cursor.rowcount


def claim_due(*, now: datetime, limit: int) -> list[int]:
    """Claim due pending deliveries and stale `sending` claims; each claim counts an attempt."""
    rows = claim(
        table=PartnerWebhookDelivery._meta.db_table,
        due=pending_or_expired(),
        order_by="next_attempt_at",
        limit=limit,
        assign="status = 'sending', claimed_until = %(until)s, attempts = t.attempts + 1",
        params={"now": now, "until": now + timedelta(seconds=settings.WEBHOOK_TIMEOUT * 3 + 60)},
    )
    return [row[0] for row in rows]


def payload(delivery: PartnerWebhookDelivery) -> dict:
    """The event, when it happened, and the case as `GET /api/v1/reports/{receipt}/` shows it, for each of
    this partner's reports of the URL (`reports`, oldest first)."""
    reports = Report.objects.filter(partner_id=delivery.partner_id, url_id=delivery.url_id).select_related(
        "url"
    )
    return {
        "event": delivery.event,
        "at": delivery.at.isoformat(),
        "reports": [receipt_status(report) for report in reports.order_by("received_at", "pk")],
    }


def deliver(delivery_id: int) -> str:
    """Send one claimed delivery and record the outcome: delivered on a 2xx, else pending again after a
    backoff, failed for good after WEBHOOK_MAX_ATTEMPTS (or at once when the partner's webhook is off)."""
    delivery = PartnerWebhookDelivery.objects.select_related("partner").get(pk=delivery_id)
    if delivery.status != PartnerWebhookDelivery.Status.SENDING:
        return delivery.status
    partner = delivery.partner
    if not partner.webhook_url:
        fields = webhooks.retry_fields(settings.WEBHOOK_MAX_ATTEMPTS, None, "the partner's webhook is off")
    else:
        body = json.dumps(payload(delivery), separators=(",", ":"), default=str).encode()
        status, error, _ = webhooks.signed_post(
            url=partner.webhook_url,
            secret=partner.webhook_secret,
            body=body,
            event=delivery.event,
            delivery_id=f"partner-{delivery.pk}",
        )
        ok = status is not None and 200 <= status < 300
        fields = (
            webhooks.delivered_fields(status)
            if ok
            else webhooks.retry_fields(delivery.attempts, status, error)
        )
    PartnerWebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
    return fields["status"]
