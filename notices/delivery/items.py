"""What a notice and its mail read of their URLs: the fields validation, routing, the templates and the X-ARF
reports use, loaded in a fixed number of plain queries (a batch reads thousands; a delivery worker once per
mail).
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from django.db import connection

from notices.delivery.compose import MailItem
from notices.infra.bulk import load_instances, loaded_instance
from notices.models import Assessment, HostingProvider, HostingTrace, Notice, NoticeItem, Url


class TraceFacts(NamedTuple):
    """What routing and the X-ARF reports read of a URL's current trace."""

    ip: str | None
    asn: int | None
    country: str


class BatchUrl(NamedTuple):
    """A URL as a batch reads it: the fields validation, routing, the templates and X-ARF use, with the same
    names as on `Url`. A tuple, not a model instance: building 20,000 of those cost more than the rest of
    validation. The assessment and the provider stay model instances (the assessment with the fields below
    loaded, the others deferred): the templates see them, and an admin-edited template may use any of their
    fields."""

    pk: int
    canonical: str
    host: str
    status: str
    provider_id: int | None
    le_referred_at: datetime | None
    current_assessment: Assessment | None
    current_trace: TraceFacts | None
    provider: HostingProvider | None


ASSESSMENT_FIELDS = ["id", "legality", "classification", "detection_method", "media_type", "legal_basis"]


def load_urls(ids: set[int]) -> dict[int, BatchUrl]:
    """The URLs with assessment and trace in one query, and their providers in another (each loaded once)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT u.id, u.canonical, u.host, u.status, u.provider_id, u.le_referred_at,
                       a.id, a.legality, a.classification, a.detection_method, a.media_type, a.legal_basis,
                       t.id IS NOT NULL, t.ip, t.asn, t.country
                FROM {Url._meta.db_table} AS u
                LEFT JOIN {Assessment._meta.db_table} AS a ON a.id = u.current_assessment_id
                LEFT JOIN {HostingTrace._meta.db_table} AS t ON t.id = u.current_trace_id
                WHERE u.id = ANY(%s)""",
            [list(ids)],
        )
        rows = cursor.fetchall()
    providers = load_instances(HostingProvider, {row[4] for row in rows} - {None})
    alias = connection.alias
    return {
        row[0]: BatchUrl(
            *row[:6],
            None if row[6] is None else loaded_instance(Assessment, alias, ASSESSMENT_FIELDS, row[6:12]),
            TraceFacts(*row[13:16]) if row[12] else None,
            providers.get(row[4]),
        )
        for row in rows
    }


def notice_mail_items(notice: Notice, url_ids: list[int] | None = None) -> list[MailItem]:
    """The notice's items in URL order (only `url_ids`, when given: an escalation mail names the URLs still
    up), with what its mail's attachments read of each URL (as a batch loads them: two plain queries, no
    querysets to compile; a delivery worker runs this once per mail)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT url_id FROM {NoticeItem._meta.db_table}
                WHERE notice_id = %s AND (%s OR url_id = ANY(%s)) ORDER BY url_id""",
            [notice.pk, url_ids is None, list(url_ids or [])],
        )
        ids = [url_id for (url_id,) in cursor.fetchall()]
    loaded = load_urls(set(ids))
    return [MailItem(url_id, loaded[url_id]) for url_id in ids]
