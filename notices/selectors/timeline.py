"""A case's or a notice's timeline in words: what each event says to an analyst reading the admin."""

from __future__ import annotations

from django.db import connection

from notices.models import Event

# Events whose data carries no `text` of their own: a sentence from their data.
SENTENCES = {
    "url.created": "Reported (first report of this URL).",
    "url.assessed": "Assessed: {legality} ({classification}).",
    "url.traced": "Hosting traced: address {ip}, provider #{provider}. {error}",
    "url.hopped": "The content moved: {from_ip} → {to_ip}.",
    "url.notified": "In a notice that reached the provider: the case counts from here.",
    "url.removed": "Removal confirmed: gone between {removed_low} and {removed_high}.",
    "url.gone_before_notice": "Gone before any notice went out (first gone {first_gone}).",
    "url.reappeared": "The content is back after its removal: a new notice cycle starts.",
    "url.le_referred": "Referred to law enforcement {reference}.",
    "url.handed_off": "Handed off to the partner hotline {partner}: the hand-off mail to {to} is queued.",
    "url.network_linked": "The hotline {partner} has this case too ({role}; their reference: {reference}); "
    "our own notice is held for provider: {notices_held_for}.",
    "url.assigned": "Assigned to {to}.",
    "url.verified": "Assessment verified by a second analyst (four eyes; assessed by {assessor}).",
    "notice.created": "Notice created.",
    "notice.queued": "Notice queued for delivery.",
    "notice.sent": "Notice delivered (accepted by the mail server, or made available for API pickup).",
    "notice.closed": "Notice closed: all its URLs are removed.",
    "notice.response": "The provider answered: {action}. {message}",
    "notice.delivery_retry": "The notice was not taken yet (attempt {attempt}); retried later: {error}",
    "notice.channel_accepted": "Filed with the provider's abuse API ({channel}): {label}, {urls} URL(s), "
    "report {report}.",
    "notice.channel_rejected": "The provider's abuse API ({channel}) refused the report for {label}: {error}",
    "notice.channel_status": "The provider's abuse API ({channel}) says report {report} is {status} "
    "{reason}. {description}",
    "notice.delivery_failed": "The notice could not be delivered: {error}",
    "notice.bounced": "The notice bounced for {recipients}.",
    "notice.analyst_alert": "Analysts alerted ({reason}). {error}",
    "alert.raised": "Put in the analysts' alert queue ({kind}).",
}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def event_text(event: Event) -> str:
    """The event in words: its own `text` (escalation steps write theirs), else a sentence from its data,
    else its kind."""
    data = event.data or {}
    if data.get("text"):
        return str(data["text"])
    sentence = SENTENCES.get(event.kind)
    if sentence is None:
        return event.kind
    values = _Blank(
        {
            key: ", ".join(map(str, value)) if isinstance(value, list) else value
            for key, value in data.items()
            if value not in (None, "", [])
        }
    )
    return " ".join(sentence.format_map(values).split())


def event_kinds() -> list[str]:
    """Every kind of event recorded, in order: a skip through the kind index (event_kind_idx) — one probe
    per kind, not a scan of the millions of events."""
    table = Event._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH RECURSIVE kinds(kind) AS (
                    (SELECT kind FROM {table} ORDER BY kind LIMIT 1)
                    UNION ALL
                    SELECT (SELECT e.kind FROM {table} e WHERE e.kind > kinds.kind ORDER BY e.kind LIMIT 1)
                    FROM kinds WHERE kinds.kind IS NOT NULL)
                SELECT kind FROM kinds WHERE kind IS NOT NULL"""
        )
        return [kind for (kind,) in cursor.fetchall()]
