"""AWS's Abuse Signal API: one X-ARF v4 report per URL (the notice's own, `notices.delivery.xarf`).

`POST {endpoint}/v1/abuse` with `{"clientToken", "correlationId", "report"}`, signed with SigV4 (service
`abuse`, the endpoint's region); AWS answers 202 with the report's id (`reportId`). The client token is
stable per (notice, URL), so a retry after a lost answer gets the same report id back instead of a second
report (AWS keeps tokens 24 hours; the id is stored the moment it is accepted, so later retries never file
it again anyway). The correlation id is the notice's reference.

Status: `GET {endpoint}/v1/abuse/{reportId}` → `status` QUEUED → PROCESSING → COMPLETED, and once completed
a `reasonCode` (ACTIONED, CONTENT_DOWN_OR_INACCESSIBLE, REVIEWED_NO_AWS_ACTION, NOT_RESOLVABLE_TO_AWS,
NEED_MORE_INFORMATION). Errors carry their type in `x-amzn-ErrorType` and `{"message", "fieldList"}`:
ValidationException and SubmissionRequirementException (400), AccessDeniedException (403), ConflictException
(409: the token was used for another report) are permanent; ThrottlingException (429, Retry-After) and
InternalServerException (500) pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import quote, urlsplit

from django.utils import timezone

from notices.delivery.channels import sigv4
from notices.delivery.channels.base import (
    Accepted,
    Answer,
    Context,
    Outcome,
    Rejected,
    Request,
    RetryLater,
    Status,
    call,
    choice_field,
    passing,
    text_field,
)
from notices.delivery.xarf import xarf_reports

SERVICE = "abuse"
REGIONS = ("us-east-1", "us-west-2", "eu-west-2")
REPORT_ID = re.compile(r"^[a-zA-Z0-9]{20,64}$")


def endpoint(config: Mapping[str, object]) -> str:
    region = config.get("region") or REGIONS[0]
    return str(config.get("endpoint") or f"https://abuse.{region}.amazonaws.com").rstrip("/")


class AwsAbuseSignal:
    name: ClassVar[str] = "aws_abuse"
    polls: ClassVar[bool] = True
    credential_fields = (
        ("access_key_id", "AWS access key id", True),
        ("secret_access_key", "AWS secret access key", True),
        ("session_token", "AWS session token (temporary credentials only)", False),
    )

    def validate(self, config: Mapping[str, object], credentials: Mapping[str, str]) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        choice_field(config, "region", errors, choices=REGIONS)
        base = text_field(config, "endpoint", errors, limit=200, required=False)
        if base and urlsplit(base).scheme not in {"http", "https"}:
            errors.setdefault("endpoint", []).append("An absolute http(s) URL.")
        for name, label, required in self.credential_fields:
            if required and not credentials.get(name):
                errors.setdefault(name, []).append(f"The {label} is required for this channel.")
        return errors

    def requests(self, context: Context) -> list[Request]:
        reference = context.notice.reference
        return [
            Request(position, f"URL {url.pk}", [url.pk], f"{reference}-u{url.pk}")
            for position, url in enumerate(sorted(context.urls, key=lambda u: u.pk))
        ]

    def body(self, context: Context, request: Request) -> dict:
        (report,) = xarf_reports(
            notice=context.notice, urls=[context.by_id[request.url_ids[0]]], now=context.created_at
        )
        return {"clientToken": request.token, "correlationId": context.notice.reference, "report": report}

    def _signed(self, context: Context, method: str, url: str, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": "application/json"} if body else {}
        return sigv4.sign(
            method,
            url,
            headers=headers,
            body=body,
            access_key_id=context.credentials["access_key_id"],
            secret_access_key=context.credentials["secret_access_key"],
            session_token=context.credentials.get("session_token", ""),
            region=str(context.config.get("region") or REGIONS[0]),
            service=SERVICE,
            now=timezone.now(),
        )

    def submit(self, context: Context, request: Request) -> Outcome:
        url = f"{endpoint(context.config)}/v1/abuse"
        body = json.dumps(self.body(context, request), separators=(",", ":")).encode()
        answer = call("POST", url, body=body, headers=self._signed(context, "POST", url, body))
        if isinstance(answer, RetryLater):
            return answer
        document = answer.json()
        if (retry := passing(answer, error_text(answer, document))) is not None:
            return retry
        report_id = str(document.get("reportId") or "")
        if 200 <= answer.status < 300 and REPORT_ID.match(report_id):
            return Accepted(report_id, str(document.get("status") or "QUEUED"))
        return Rejected(f"HTTP {answer.status}: {error_text(answer, document)}")

    def poll(self, context: Context, remote_id: str) -> Status | RetryLater:
        url = f"{endpoint(context.config)}/v1/abuse/{quote(remote_id, safe='')}"
        answer = call("GET", url, body=None, headers=self._signed(context, "GET", url, b""))
        if isinstance(answer, RetryLater):
            return answer
        document = answer.json()
        if answer.status != 200:
            return passing(answer, error_text(answer, document)) or RetryLater(
                f"HTTP {answer.status}: {error_text(answer, document)}"
            )
        status = str(document.get("status") or "")
        return Status(
            status=status,
            reason_code=str(document.get("reasonCode") or ""),
            description=str(document.get("description") or "")[:300],
            done=status == "COMPLETED",
        )


def error_text(answer: Answer, document: dict) -> str:
    """`Type: message (path: message, …)` from an AWS error answer."""
    kind = (answer.headers.get("x-amzn-ErrorType") or "").split(":")[0]
    fields = ", ".join(
        f"{f.get('path', '')}: {f.get('message', '')}"
        for f in document.get("fieldList") or []
        if isinstance(f, dict)
    )
    text = f"{kind}: {document.get('message') or document.get('Message') or ''}".strip(": ")
    return f"{text} ({fields})" if fields else text or "no reason given"
