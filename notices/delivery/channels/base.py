"""The provider abuse API interface: what every channel module implements, and the one HTTP call they share.

A channel turns an outbox message of a notice into one or more requests (`requests`), files one request
(`submit`) and says what the answer means — `Accepted` (with the provider's report id), `RetryLater`
(5xx, 429 with its Retry-After, a network error: the outbox retries with backoff kept in the database) or
`Rejected` (permanent, with the provider's reason) — and, where the API has one, reads a filed report's
status (`poll`). It validates its own settings and credentials for the admin form (`validate`). It never
writes anything: `notices.delivery.channels.sending` records what it reports.

Adding a provider's API is one module: a class with these members, registered in `CHANNELS`
(`notices/delivery/channels/__init__.py`), and a choice in `ContactChannel`.
"""

from __future__ import annotations

import email.utils
import http.client
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, NamedTuple, Protocol

from django.conf import settings

from notices.infra import http as http_client
from notices.infra.ssrf import BlockedTarget, Guard
from notices.models import Notice, Url

USER_AGENT = "TakedownTracker-Channel/1"
MAX_ANSWER_BYTES = 64 * 1024  # a provider API's answer (never a reported site's): JSON of a few fields


class Accepted(NamedTuple):
    """The provider took the request; `remote_id` names its report there (may be empty where the API gives
    none), `status` its first status."""

    remote_id: str
    status: str = ""


class RetryLater(NamedTuple):
    """Not taken this time, for a reason that passes (5xx, 429, network): try again, not before
    `retry_after` seconds when the provider said so."""

    error: str
    retry_after: float | None = None


class Rejected(NamedTuple):
    """The provider refused the request for good (its answer says why); sending it again changes nothing."""

    error: str


Outcome = Accepted | RetryLater | Rejected


class Status(NamedTuple):
    """A filed report's status as the provider reports it; `done` once it is final (with `reason_code`)."""

    status: str
    reason_code: str = ""
    description: str = ""
    done: bool = False


@dataclass(frozen=True)
class Request:
    """One request a channel makes of a message: what it covers and the token that makes a retry of it the
    same request to the provider."""

    position: int
    label: str
    url_ids: list[int]
    token: str


@dataclass
class Context:
    """What a channel works from: the notice, its URLs (with assessment and trace loaded), the provider's
    channel settings and decrypted credentials, the message's stable id and creation time, and (for the
    webhook channel) the notice as the provider API shows it."""

    notice: Notice
    urls: list[Url]
    config: Mapping[str, object]
    credentials: Mapping[str, str]
    message_id: str
    created_at: datetime
    notice_body: Callable[[Notice], dict] | None = None
    by_id: dict[int, Url] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {url.pk: url for url in self.urls}


class Channel(Protocol):
    """A provider abuse API (see the module docstring)."""

    name: ClassVar[str]
    polls: ClassVar[bool]  # whether filed reports have a status to read (`poll`)
    credential_fields: ClassVar[Sequence[tuple[str, str, bool]]]  # (name, label, required)

    def validate(self, config: Mapping[str, object], credentials: Mapping[str, str]) -> dict[str, list[str]]:
        """Field errors of these settings and credentials (empty: usable)."""
        ...

    def requests(self, context: Context) -> list[Request]: ...

    def submit(self, context: Context, request: Request) -> Outcome: ...

    def poll(self, context: Context, remote_id: str) -> Status | RetryLater:
        """The filed report's status (only channels whose `polls` is True have it)."""
        ...


class Answer(NamedTuple):
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> dict:
        """The answer's JSON object ({} for anything else: an answer we cannot read is judged by status)."""
        try:
            value = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


def call(method: str, url: str, *, body: bytes | None, headers: Mapping[str, str]) -> Answer | RetryLater:
    """One request to a provider's API through the guarded HTTP client (SSRF guard on, no redirects,
    CHANNEL_TIMEOUT); a connection that fails is `RetryLater`."""
    try:
        response = http_client.request(
            method,
            url,
            guard=Guard(allow_private=settings.CHANNEL_ALLOW_PRIVATE_TARGETS),
            timeout=settings.CHANNEL_TIMEOUT,
            body=body,
            headers={"User-Agent": USER_AGENT, **headers},
            max_bytes=MAX_ANSWER_BYTES,
        )
    except (BlockedTarget, OSError, http.client.HTTPException, http_client.HttpError, ValueError) as exc:
        return RetryLater(f"{exc.__class__.__name__}: {exc}")
    return Answer(response.status, response.headers, response.body)


def passing(answer: Answer, error: str) -> RetryLater | None:
    """The answers every API means the same way: 429 (with its Retry-After) and 5xx are worth a retry."""
    if answer.status == 429 or answer.status >= 500:
        return RetryLater(f"HTTP {answer.status}: {error}", retry_after(answer.headers.get("Retry-After")))
    return None


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    now = now or datetime.now(tz=when.tzinfo)
    return max(0.0, (when - now).total_seconds())


def text_field(config: Mapping[str, object], name: str, errors: dict, *, limit: int, required: bool) -> str:
    """A string setting of at most `limit` characters; missing or too long adds its error."""
    value = config.get(name, "")
    if not isinstance(value, str):
        errors.setdefault(name, []).append("Must be text.")
        return ""
    value = value.strip()
    if required and not value:
        errors.setdefault(name, []).append("This setting is required for this channel.")
    elif len(value) > limit:
        errors.setdefault(name, []).append(f"At most {limit} characters.")
    return value


def choice_field(config: Mapping[str, object], name: str, errors: dict, *, choices: Sequence[str]) -> str:
    """A setting from `choices` (its first when absent)."""
    value = config.get(name, choices[0])
    if value not in choices:
        errors.setdefault(name, []).append(f"One of: {', '.join(choices)}.")
        return choices[0]
    return str(value)
