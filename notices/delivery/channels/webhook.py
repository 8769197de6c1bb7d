"""The signed webhook as a channel: the notice is POSTed, as the provider API shows it, to the endpoint the
provider registered in the portal, signed as every webhook is (`notices.delivery.webhooks.sign`,
`X-Takedown-Signature`), through the outbox. A 2xx answer is acceptance (the first notice sent); 429 and 5xx
are retried (not before Retry-After); any other answer is a refusal.

`X-Takedown-Delivery` carries the outbox message's stable id, so a receiver that keeps it drops the repeat a
crash after its 2xx (and before we stored it) would bring. A provider on this channel gets no second,
`notice.created` delivery from the webhook sweep.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import ClassVar

from django.utils import timezone

from notices.delivery import webhooks
from notices.delivery.channels.base import (
    Accepted,
    Context,
    Outcome,
    Rejected,
    Request,
    RetryLater,
    call,
    passing,
)
from notices.models import WebhookEndpoint


class Webhook:
    name: ClassVar[str] = "webhook"
    polls: ClassVar[bool] = False
    credential_fields = ()  # the endpoint's signing secret is the portal's (WebhookEndpoint)

    def validate(self, config: Mapping[str, object], credentials: Mapping[str, str]) -> dict[str, list[str]]:
        return {}  # the endpoint is registered (and its URL checked) in the portal

    def requests(self, context: Context) -> list[Request]:
        return [Request(0, "notice", sorted(u.pk for u in context.urls), context.message_id)]

    def submit(self, context: Context, request: Request) -> Outcome:
        endpoint = WebhookEndpoint.objects.filter(provider=context.notice.provider_id, is_active=True).first()
        if endpoint is None:
            return RetryLater("the provider has no active webhook endpoint (it registers one in the portal)")
        if context.notice_body is None:
            raise ValueError("the webhook channel needs the notice's body (notice_body)")
        body = json.dumps(
            {"event": "notice.created", "notice": context.notice_body(context.notice)},
            separators=(",", ":"),
            default=str,
        ).encode()
        answer = call(
            "POST",
            endpoint.url,
            body=body,
            headers={
                "Content-Type": "application/json",
                "X-Takedown-Event": "notice.created",
                "X-Takedown-Delivery": request.token,
                "X-Takedown-Signature": webhooks.sign(endpoint.secret, body, int(timezone.now().timestamp())),
            },
        )
        if isinstance(answer, RetryLater):
            return answer
        if 200 <= answer.status < 300:
            return Accepted("", f"HTTP {answer.status}")
        return passing(answer, "the endpoint did not take it") or Rejected(f"HTTP {answer.status}")
