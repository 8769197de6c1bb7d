"""Provider webhooks: each new notice is POSTed as signed JSON to the URL the provider registered.

Like the outbox, a delivery row is written before sending and retries live in the database
(`next_attempt_at`, exponential backoff, WEBHOOK_MAX_ATTEMPTS), claimed with a conditional UPDATE so any
number of workers can sweep. The provider's URL is as untrusted as a reported one (it could name our own
network), so it goes through the guarded HTTP client (`notices.infra.http`): every address it resolves to
passes the SSRF `Guard` and the connection goes to exactly that address; redirects are not followed.

Crash safety as in the outbox (`notices.delivery.outbox`): a claim names its worker and has a short lease its
heartbeat renews (WEBHOOK_CLAIM_TIMEOUT); before the POST the row says durably that it may be delivered
(`in_doubt_since`), and a delivery sent again after its worker died in doubt is counted (`duplicates`; the
same `X-Takedown-Delivery` id, so the receiver can tell). A delivery to an endpoint the provider has replaced
(or switched off) since is not retried: it fails as `ENDPOINT_REPLACED`.

Signature: header `X-Takedown-Signature: t=UNIX,v1=HEX` where HEX = HMAC-SHA256(secret, f"{t}.{body}"). The
receiver recomputes it with its secret and rejects old timestamps (replay).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from notices.enums import HIDDEN_FROM_PROVIDER, ContactChannel
from notices.infra import http as http_client
from notices.infra.claims import claim, owner, pending_or_expired, start_heartbeat
from notices.infra.retry import backoff
from notices.infra.ssrf import BlockedTarget, Guard
from notices.models import HostingProvider, Notice, WebhookDelivery, WebhookEndpoint

USER_AGENT = "TakedownTracker-Webhook/1"
MAX_RESPONSE_BYTES = 1024


class WebhookError(ValueError):
    """A URL the portal refuses to register; the message is shown to the provider."""


def validate_webhook_url(url: str) -> str:
    """An absolute http(s) URL with a host and no credentials; IP literals must be allowed addresses."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise WebhookError("Use an absolute http:// or https:// URL.")
    if parts.username or parts.password:
        raise WebhookError("Credentials in the URL are not accepted; use the signature to authenticate us.")
    try:
        ip = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return url.strip()
    try:
        _guard().check(ip)
    except BlockedTarget:
        raise WebhookError("This address is private or reserved.") from None
    return url.strip()


def register_webhook(*, provider: HostingProvider, url: str, created_by, now: datetime) -> WebhookEndpoint:
    """Make `url` the provider's one active endpoint with a new signing secret (shown to the provider).

    Earlier endpoints are deactivated; notices sent from now on are delivered to the new one.
    """
    url = validate_webhook_url(url)
    with transaction.atomic():
        _retire_endpoints(provider)
        return WebhookEndpoint.objects.create(
            provider=provider,
            url=url,
            secret=f"whsec_{secrets.token_urlsafe(32)}",
            created_at=now,
            created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
        )


def disable_webhooks(*, provider: HostingProvider) -> None:
    _retire_endpoints(provider)


ENDPOINT_REPLACED = "not retried: the provider replaced or switched off this endpoint"


def _retire_endpoints(provider: HostingProvider) -> None:
    """Deactivate the provider's endpoints and stop retrying what is pending for them (a delivery a worker
    holds is stopped by `deliver`, which looks at its endpoint before sending)."""
    retired = list(
        WebhookEndpoint.objects.filter(provider=provider, is_active=True).values_list("pk", flat=True)
    )
    WebhookEndpoint.objects.filter(pk__in=retired).update(is_active=False)
    WebhookDelivery.objects.filter(endpoint__in=retired, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED, next_attempt_at=None, last_error=ENDPOINT_REPLACED
    )


def enqueue_new_deliveries(*, now: datetime, limit: int) -> int:
    """Write a pending delivery for every visible notice sent to a provider since it registered its endpoint.

    One INSERT … SELECT; the unique (endpoint, notice) constraint makes a second sweep a no-op. A provider
    whose channel is the webhook gets its notices through the outbox instead (`notices.delivery.channels`).
    """
    hidden = [str(s) for s in HIDDEN_FROM_PROVIDER]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {WebhookDelivery._meta.db_table}
                    (endpoint_id, notice_id, status, attempts, next_attempt_at, created_at, last_error)
                SELECT e.id, n.id, 'pending', 0, %(now)s, %(now)s, ''
                FROM {WebhookEndpoint._meta.db_table} e
                JOIN {Notice._meta.db_table} n ON n.provider_id = e.provider_id
                JOIN {HostingProvider._meta.db_table} p ON p.id = e.provider_id
                WHERE e.is_active AND n.sent_at >= e.created_at AND NOT (n.status = ANY(%(hidden)s))
                  AND p.channel <> %(webhook_channel)s
                  AND NOT EXISTS (SELECT 1 FROM {WebhookDelivery._meta.db_table} d
                                  WHERE d.endpoint_id = e.id AND d.notice_id = n.id AND d.run_id IS NULL
                                    AND d.item_id IS NULL)
                ORDER BY n.id LIMIT %(limit)s
                ON CONFLICT DO NOTHING""",
            {"now": now, "hidden": hidden, "limit": limit, "webhook_channel": ContactChannel.WEBHOOK},
        )
        return cursor.rowcount


def claim_due_deliveries(*, now: datetime, limit: int) -> list[int]:
    """Claim pending deliveries that are due, and `sending` claims whose lease ran out, for this process (its
    heartbeat renewing the lease); each claim counts an attempt. Returns their ids."""
    lease = timedelta(seconds=settings.WEBHOOK_CLAIM_TIMEOUT)
    rows = claim(
        table=WebhookDelivery._meta.db_table,
        due=pending_or_expired(),
        order_by="next_attempt_at",
        limit=limit,
        assign="status = 'sending', claimed_until = %(until)s, claimed_by = %(owner)s, "
        "attempts = t.attempts + 1",
        params={"now": now, "until": now + lease, "owner": owner()},
    )
    if rows:
        start_heartbeat(WebhookDelivery._meta.db_table, lease)
    return [row[0] for row in rows]


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def deliver(delivery_id: int, *, payload: Callable[[WebhookDelivery], dict]) -> str:
    """Send one claimed delivery with the body `payload` makes of it, and record the outcome (2xx delivered;
    else retry with backoff, then fail). A delivery of a repeat (`run` set) is the event `notice.reminder`,
    one of a superseded item (`item` set) `notice.superseded`, the others `notice.created`."""
    delivery = WebhookDelivery.objects.select_related("endpoint", "notice__provider", "run", "item").get(
        pk=delivery_id
    )
    mine = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=WebhookDelivery.Status.SENDING, claimed_by=owner()
    )
    if delivery.status != WebhookDelivery.Status.SENDING or delivery.claimed_by != owner():
        return delivery.status
    if not delivery.endpoint.is_active:  # replaced since: the provider gets its notices at the new one
        mine.update(
            status=WebhookDelivery.Status.FAILED,
            next_attempt_at=None,
            claimed_until=None,
            last_error=ENDPOINT_REPLACED,
        )
        return WebhookDelivery.Status.FAILED
    body = json.dumps(payload(delivery), separators=(",", ":"), default=str).encode()
    earlier_doubt = delivery.in_doubt_since
    doubt = earlier_doubt or timezone.now()
    if not mine.update(in_doubt_since=doubt):  # step 1: durably, a copy may go out from now on
        return delivery.status  # taken over meanwhile
    status, error, reached = signed_post(
        url=delivery.endpoint.url,
        secret=delivery.endpoint.secret,
        body=body,
        event=event_name(delivery),
        delivery_id=str(delivery.pk),
    )
    if status is not None and 200 <= status < 300:
        mine.update(
            **delivered_fields(status),
            in_doubt_since=None,
            duplicates=F("duplicates") + (1 if earlier_doubt else 0),
        )
        return WebhookDelivery.Status.DELIVERED
    # Refused with an answer, or never reached: no copy went out now. Reached with no answer: it may have.
    fields = retry_fields(delivery.attempts, status, error)
    mine.update(**fields, in_doubt_since=doubt if reached and status is None else earlier_doubt)
    return fields["status"]


def signed_post(
    *, url: str, secret: str, body: bytes, event: str, delivery_id: str
) -> tuple[int | None, str]:
    """POST a signed JSON `body` (headers X-Takedown-Event, -Delivery, -Signature) through the guarded
    client: (status code, "" or why it is not accepted, True), or (None, why, reached) when no answer came —
    `reached` False when nothing can have gone out (blocked, refused connection). Shared by provider and
    partner webhooks."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Takedown-Event": event,
        "X-Takedown-Delivery": delivery_id,
        "X-Takedown-Signature": sign(secret, body, int(timezone.now().timestamp())),
    }
    try:
        status = post(url, body, headers)
    except (BlockedTarget, ConnectionRefusedError) as exc:  # never reached: nothing went out
        return None, f"{exc.__class__.__name__}: {exc}", False
    except (OSError, http.client.HTTPException, http_client.HttpError, ValueError) as exc:
        return None, f"{exc.__class__.__name__}: {exc}", True
    return status, "" if 200 <= status < 300 else f"HTTP {status}", True


def delivered_fields(status: int) -> dict:
    """The columns of a delivery the receiver accepted."""
    return {
        "status": WebhookDelivery.Status.DELIVERED,
        "delivered_at": timezone.now(),
        "last_status_code": status,
        "last_error": "",
        "claimed_until": None,
    }


def retry_fields(attempts: int, status: int | None, error: str) -> dict:
    """The columns of a failed attempt: pending again after a backoff, or failed for good after
    WEBHOOK_MAX_ATTEMPTS."""
    give_up = attempts >= settings.WEBHOOK_MAX_ATTEMPTS
    wait = backoff(settings.WEBHOOK_RETRY_BASE, attempts)
    return {
        "status": WebhookDelivery.Status.FAILED if give_up else WebhookDelivery.Status.PENDING,
        "next_attempt_at": None if give_up else timezone.now() + wait,
        "claimed_until": None,
        "last_status_code": status,
        "last_error": error[:500],
    }


def event_name(delivery: WebhookDelivery) -> str:
    if delivery.item_id:
        return "notice.superseded"
    return "notice.reminder" if delivery.run_id else "notice.created"


def _guard() -> Guard:
    return Guard(allow_private=settings.WEBHOOK_ALLOW_PRIVATE_TARGETS)


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST `body` to `url` through the guarded HTTP client (pinned to a checked address, no redirects);
    returns the status code. The answer is never kept: a little of it is read so the server sees a clean
    close."""
    response = http_client.request(
        "POST",
        url,
        guard=_guard(),
        timeout=settings.WEBHOOK_TIMEOUT,
        body=body,
        headers=headers,
        max_bytes=MAX_RESPONSE_BYTES,
    )
    return response.status
