"""A case's or a notice's timeline in words: what each event says to an analyst reading the admin."""

from __future__ import annotations

from django.db import connection

from notices.enums import Legality, ResponseAction
from notices.models import Event, HostingProvider

# Events whose data carries no `text` of their own: a sentence from their data.
SENTENCES = {
    "url.created": "Reported (first report of this URL).",
    "url.assessed": "Assessed: {legality} ({classification}).",
    "url.traced": "Hosting traced: address {ip}, provider {provider}. {error}",
    "url.override": "Hosting overridden (scope: {scope}): provider {provider}.",
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


# Every kind of event in words (timeline's "Kind" column, the dashboard's recent activity, the event list's
# filter). A kind missing here is shown from its name ("url.escalation_waits": "Escalation waits"), never as
# the bare code.
KIND_LABELS = {
    "alert.raised": "Alert raised",
    "alerts.digest": "Alert digest mailed",
    "dispatch.failed": "Dispatch failed",
    "notice.analyst_alert": "Analysts alerted",
    "notice.analyst_alert_mailed": "Alert mailed to analysts",
    "notice.auto_reply": "Automatic reply received",
    "notice.bounced": "Notice bounced",
    "notice.bounce": "Notice bounced",
    "notice.channel_accepted": "Filed with the abuse API",
    "notice.channel_rejected": "Refused by the abuse API",
    "notice.channel_status": "Abuse API status",
    "notice.closed": "Notice closed",
    "notice.created": "Notice created",
    "notice.delivery_failed": "Delivery failed",
    "notice.delivery_retry": "Delivery retried",
    "notice.queued": "Notice queued",
    "notice.reminder": "Reminder",
    "notice.reply": "Provider replied",
    "notice.response": "Provider answered",
    "notice.sent": "Notice sent",
    "notice.superseded": "Notice superseded",
    "notice.unmatched": "Unmatched mail",
    "notice.withdrawn": "Notice withdrawn",
    "order.breached": "Removal order breached",
    "order.clock": "Removal order clock",
    "url.assessed": "Assessed",
    "url.assigned": "Assigned",
    "url.closed": "Case closed",
    "url.country_changed": "Hosting country changed",
    "url.created": "Reported",
    "url.escalated": "Escalated",
    "url.escalation_cancelled": "Escalation called off",
    "url.escalation_delivered": "Escalation delivered",
    "url.escalation_failed": "Escalation failed",
    "url.escalation_retry": "Escalation retried",
    "url.escalation_skipped": "Escalation step skipped",
    "url.escalation_stopped": "Escalation stopped",
    "url.escalation_waits": "Escalation waits",
    "url.gone_before_notice": "Gone before notice",
    "url.handed_off": "Handed off",
    "url.handoff_delivered": "Hand-off delivered",
    "url.handoff_failed": "Hand-off failed",
    "url.handoff_retry": "Hand-off retried",
    "url.hold_cleared": "Hold cleared",
    "url.hold_requested": "Hold requested",
    "url.hopped": "Content moved",
    "url.hosting_changed": "Hosting data changed",
    "url.le_referred": "Referred to law enforcement",
    "url.moved_before_send": "Moved before sending",
    "url.network_linked": "Another hotline's case",
    "url.notified": "Noticed",
    "url.override": "Hosting overridden",
    "url.paused": "Paused",
    "url.reappeared": "Content came back",
    "url.removed": "Removal confirmed",
    "url.renoticed": "Noticed again",
    "url.reopened": "Case reopened",
    "url.resumed": "Resumed",
    "url.superseded": "Superseded",
    "url.traced": "Hosting traced",
    "url.verified": "Assessment verified",
}


def event_label(kind: str) -> str:
    """A kind of event in words: its label, else its name made readable — never the bare code."""
    label = KIND_LABELS.get(kind)
    if label is not None:
        return label
    name = kind.rpartition(".")[2].replace("_", " ").strip()
    return name[:1].upper() + name[1:] if name else "Event"


def _provider_name(value) -> str:
    """A provider's name for an id in an event's data (a plain name, never a link)."""
    try:
        name = HostingProvider.objects.filter(pk=int(value)).values_list("name", flat=True).first()
    except (TypeError, ValueError):
        return str(value)
    return name or f"(provider {value} no longer exists)"


def _label_of(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


# Codes in an event's data shown in words: the provider's name for its id, a choice's label for its value.
WORDS = {
    "provider": _provider_name,
    "legality": lambda value: _label_of(Legality, value),
    "action": lambda value: _label_of(ResponseAction, value),
}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "none found" if key == "provider" else ""


def _same(value):
    return value


def event_text(event: Event) -> str:
    """The event in words: its own `text` (escalation steps write theirs), else a sentence from its data,
    else its kind."""
    data = event.data or {}
    if data.get("text"):
        return str(data["text"])
    sentence = SENTENCES.get(event.kind)
    if sentence is None:
        return event_label(event.kind) + "."
    values = _Blank(
        {
            key: ", ".join(map(str, value)) if isinstance(value, list) else WORDS.get(key, _same)(value)
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
