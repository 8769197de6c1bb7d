"""Cloudflare's abuse-reports API, child-abuse report type (`act` = `abuse_children`).

`POST {api_base}/accounts/{account_id}/abuse-reports/abuse_children`, JSON, `Authorization: Bearer TOKEN` (an
API token with the account's Abuse Reports edit permission). One report names at most 250 URLs, all on one
hostname, each once, separated by newlines: a notice's URLs are grouped by hostname and split into chunks of
at most 250, one report each. The reporter fields (`name`, `email` and its repetition `email2`), the
`justification` (≤ 5,000 characters) and the three notification flags are required: `host_notification` and
`ncmec_notification` (`send` or `send-anon`) and `owner_notification` (`send`, `send-anon` or `none`) ask
Cloudflare to pass the report to the hosting provider behind it, to NCMEC, and to the site's owner.

The answer is Cloudflare's envelope `{"success", "errors": [{"code", "message"}], "messages", "result"}`;
an accepted report carries its public id (`abuse_rand`). 400 is a report Cloudflare refuses (permanent), 401
and 403 a token or account without the entitlement (permanent until a supervisor fixes the settings), 429 and
5xx pass (retried, not before Retry-After). The API takes no idempotency key: a report is filed once because
its id is stored the moment it is accepted (`sending`), before the next report of the message is filed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import urlsplit

from django.conf import settings

from notices.delivery.channels.base import (
    Accepted,
    Answer,
    Context,
    Outcome,
    Rejected,
    Request,
    RetryLater,
    call,
    choice_field,
    passing,
    text_field,
)

API_BASE = "https://api.cloudflare.com/client/v4"
ACT = "abuse_children"
MAX_URLS = 250  # per report, all on one hostname
MAX_JUSTIFICATION = 5000
MAX_COMMENTS = 2000
ACCOUNT_ID = re.compile(r"^[0-9a-f]{32}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Cloudflare:
    name: ClassVar[str] = "cloudflare"
    polls: ClassVar[bool] = False
    credential_fields = (("api_token", "Cloudflare API token", True),)

    def validate(self, config: Mapping[str, object], credentials: Mapping[str, str]) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        account = text_field(config, "account_id", errors, limit=32, required=True)
        if account and not ACCOUNT_ID.match(account):
            errors.setdefault("account_id", []).append("A Cloudflare account id: 32 hexadecimal characters.")
        text_field(config, "reporter_name", errors, limit=255, required=True)
        address = text_field(config, "reporter_email", errors, limit=255, required=True)
        if address and not EMAIL.match(address):
            errors.setdefault("reporter_email", []).append("A valid e-mail address.")
        choice_field(config, "host_notification", errors, choices=("send", "send-anon"))
        choice_field(config, "ncmec_notification", errors, choices=("send", "send-anon"))
        choice_field(config, "owner_notification", errors, choices=("send", "send-anon", "none"))
        base = text_field(config, "api_base", errors, limit=200, required=False)
        if base and urlsplit(base).scheme not in {"http", "https"}:
            errors.setdefault("api_base", []).append("An absolute http(s) URL.")
        if not credentials.get("api_token"):
            errors.setdefault("api_token", []).append("The API token is required for this channel.")
        return errors

    def requests(self, context: Context) -> list[Request]:
        """One request per hostname and chunk of at most 250 URLs, hostnames in order, URLs by id."""
        by_host: dict[str, list[int]] = {}
        for url in sorted(context.urls, key=lambda u: u.pk):
            by_host.setdefault(urlsplit(url.canonical).hostname or url.host, []).append(url.pk)
        requests = []
        for host in sorted(by_host):
            ids = by_host[host]
            chunks = [ids[start : start + MAX_URLS] for start in range(0, len(ids), MAX_URLS)]
            for number, chunk in enumerate(chunks, start=1):
                label = host if len(chunks) == 1 else f"{host} ({number}/{len(chunks)})"
                position = len(requests)
                requests.append(Request(position, label, chunk, f"{context.message_id}#{position}"))
        return requests

    def body(self, context: Context, request: Request) -> dict:
        config, notice = context.config, context.notice
        reporter = str(config["reporter_email"]).strip()
        return {
            "act": ACT,
            "email": reporter,
            "email2": reporter,
            "name": str(config["reporter_name"]).strip(),
            "company": settings.HOTLINE_NAME[:100],
            "urls": "\n".join(context.by_id[pk].canonical for pk in request.url_ids),
            "justification": justification(context)[:MAX_JUSTIFICATION],
            "comments": f"Takedown notice {notice.reference} ({notice.get_notice_type_display()})."[
                :MAX_COMMENTS
            ],
            "host_notification": config.get("host_notification", "send"),
            "ncmec_notification": config.get("ncmec_notification", "send"),
            "owner_notification": config.get("owner_notification", "send"),
        }

    def submit(self, context: Context, request: Request) -> Outcome:
        account = str(context.config["account_id"]).strip()
        base = str(context.config.get("api_base") or API_BASE).rstrip("/")
        answer = call(
            "POST",
            f"{base}/accounts/{account}/abuse-reports/{ACT}",
            body=json.dumps(self.body(context, request)).encode(),
            headers={
                "Authorization": f"Bearer {context.credentials['api_token']}",
                "Content-Type": "application/json",
            },
        )
        if isinstance(answer, RetryLater):
            return answer
        return interpret(answer)


def justification(context: Context) -> str:
    """Why the content is illegal, as the notice states it: assessed by the hotline, its classification."""
    classifications = sorted(
        {
            (url.current_assessment.classification if url.current_assessment else "") or "baseline"
            for url in context.urls
        }
    )
    return (
        f"{settings.HOTLINE_NAME} assessed the content at these URLs as child sexual abuse material "
        f"(classification: {', '.join(classifications)}), illegal internationally. Analysts verified each "
        f"URL; the images are not attached and must not be forwarded except to law enforcement or NCMEC. "
        f"Please remove the content and confirm; our reference is {context.notice.reference}."
    )


def interpret(answer: Answer) -> Outcome:
    """What Cloudflare's answer means (see the module docstring)."""
    body = answer.json()
    errors = "; ".join(
        f"{e.get('code', '')} {e.get('message', '')}".strip()
        for e in body.get("errors") or []
        if isinstance(e, dict)
    )
    if (retry := passing(answer, errors or "Cloudflare did not take the report")) is not None:
        return retry
    if 200 <= answer.status < 300 and body.get("success") is True:
        return Accepted(str(body.get("abuse_rand") or body.get("id") or ""), "submitted")
    return Rejected(f"HTTP {answer.status}: {errors or 'refused by Cloudflare'}")
