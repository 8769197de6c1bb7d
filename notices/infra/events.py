"""Timeline events and the audit log."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NamedTuple

from notices.infra.bulk import int_array, text_array, timestamp_array
from notices.infra.write_behind import WriteBehind, run
from notices.models import ApiKey, AuditEvent, Event


def actor_label(*, user=None, api_key=None) -> str:
    """A short, stable description of who acted: `user:NAME`, `key:PREFIX` or `system`."""
    if api_key is not None:
        return f"key:{api_key.prefix}"
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.get_username()}"
    return "system"


def record_event(
    kind: str,
    *,
    at: datetime,
    url=None,
    notice=None,
    actor: str = "system",
    data: dict[str, Any] | None = None,
) -> Event:
    """Write one timeline row. Called by every state-changing service."""
    return Event.objects.create(kind=kind, at=at, url=url, notice=notice, actor=actor, data=data or {})


def audit(
    *,
    actor: str,
    action: str,
    obj=None,
    object_type: str = "",
    object_id: str = "",
    ip: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record a sensitive read or action (safety rule 4): one append-only row. `obj` names the object (its
    reference, else its key); without one, `object_type` and `object_id` do (a list: the type, no id)."""
    if obj is not None:
        object_type = obj.__class__.__name__.lower()
        object_id = str(getattr(obj, "reference", None) or obj.pk)
    return AuditEvent.objects.create(
        actor=actor, action=action, object_type=object_type, object_id=object_id, ip=ip, data=data or {}
    )


def request_ip(request) -> str | None:
    """Where a request came from, for the audit log: the address the server saw."""
    return request.META.get("REMOTE_ADDR") or None


def request_actor(request) -> tuple[str, dict[str, Any]]:
    """Who makes a request: a person (`user:NAME`; with a staff API key also `{"key": PREFIX}` for the row's
    data), a provider or partner key (`key:PREFIX`), or no one (`anonymous`)."""
    key = getattr(request, "auth", None)
    if isinstance(key, ApiKey):
        if key.user_id is not None:
            return actor_label(user=key.user), {"key": key.prefix}
        return actor_label(api_key=key), {}
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return actor_label(user=user), {}
    return "anonymous", {}


def audit_request(request, *, action: str, obj=None, object_type: str = "", data=None) -> AuditEvent:
    """`audit` for what a request reads or does: who (`request_actor`), from where (`request_ip`)."""
    actor, extra = request_actor(request)
    return audit(
        actor=actor,
        action=action,
        obj=obj,
        object_type=object_type,
        ip=request_ip(request),
        data={**extra, **(data or {})},
    )


class NewEvent(NamedTuple):
    """A timeline row to write (`new_event`): the columns only. Batch services make thousands, and a model
    instance each cost more than writing them."""

    kind: str
    at: datetime
    url_id: int | None
    notice_id: int | None
    actor: str
    data: dict[str, Any]


def new_event(
    kind: str,
    *,
    at: datetime,
    url=None,
    notice=None,
    actor: str = "system",
    data: dict[str, Any] | None = None,
) -> NewEvent:
    """A timeline row as `record_event` would write it; batch services pass many to `record_events`."""
    return NewEvent(
        kind, at, None if url is None else url.pk, None if notice is None else notice.pk, actor, data or {}
    )


def record_events(events: list[NewEvent], *, writes: WriteBehind | None = None) -> None:
    """Write many timeline rows (from `new_event`) in one INSERT … SELECT FROM unnest of array literals: the
    batch services write thousands at once, and bulk_create's per-value preparation costs more than the SQL.
    With `writes`, the INSERT is queued there (see `write_behind`).

    Not COPY: psycopg2 lets go of the connection between starting a COPY and streaming its rows, so a COPY on
    the write-behind thread could interleave with the caller's reads on the same connection (a re-evaluation
    streams the open cases while its events are written); and for these rows it measured no faster."""
    if not events:
        return
    run(
        f"""INSERT INTO {Event._meta.db_table} (kind, at, url_id, notice_id, actor, data)
            SELECT * FROM unnest(%s::text[], %s::timestamptz[], %s::bigint[], %s::bigint[], %s::text[],
                                 %s::jsonb[])""",
        [
            text_array([event.kind for event in events]),
            timestamp_array([event.at for event in events]),
            int_array([event.url_id for event in events]),
            int_array([event.notice_id for event in events]),
            text_array([event.actor for event in events]),
            text_array(["{}" if not event.data else json.dumps(event.data) for event in events]),
        ],
        writes,
    )
