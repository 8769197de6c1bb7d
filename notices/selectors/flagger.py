"""The DSA Art. 22(3) trusted-flagger report of a year: the notices the hotline sent, by hosting provider, by
type of illegal content and by the action the provider took, with processing times.

Counted: every URL in a notice sent in the year (UTC, `Notice.sent_at`; withdrawn notices aside), of the
notice types asked for (trusted-flagger notices by default, every type on request). Each row gives the
notices and the URLs (notice items), and the processing time of the items the provider dealt with: from the
notice's sending to the first of the removal (the provider's report of it, or the checker's confirmation) and
its first answer naming the URL, as the median and p90 in seconds. Items with neither count as "no answer yet"
and have no processing time.

The type of illegal content is the case's current assessment (legality and classification); the action is
the item's: removed, not our customer (disputed), refused, answered otherwise, no answer yet, or superseded
(the content moved to another provider's network before this one removed it: no removal and no processing
time of this provider's).

Nothing here names a URL, a host or a person: keys are provider names, assessment values and actions.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from django.db import connection

from notices.enums import Classification, ItemStatus, Legality, NoticeStatus, NoticeType, ResponseAction
from notices.models import Assessment, HostingProvider, Notice, NoticeItem, ProviderResponse, Url
from notices.selectors.reports import year_bounds
from notices.selectors.stats import finite

ACTIONS = {
    "removed": "Removed",
    "not_our_customer": "Not our customer (disputed)",
    "refused": "Refused (held not illegal)",
    "answered": "Answered, no removal yet",
    "no_answer": "No answer yet",
    "superseded": "Moved to another provider (superseded)",
}
GROUPS = {
    "provider": "By hosting provider",
    "content": "By type of illegal content",
    "action": "By action taken",
}
FLAGGER_COLUMNS = [
    "year",
    "group",
    "key",
    "name",
    "notices",
    "urls",
    "processed",
    "median_seconds",
    "p90_seconds",
]


def _sql() -> str:
    answers = ProviderResponse.urls.through._meta.db_table
    responses = ProviderResponse._meta.db_table
    return f"""
        WITH item AS (
            SELECT i.notice_id, n.provider_id, n.sent_at,
                   COALESCE(a.legality, '') AS legality, COALESCE(a.classification, '') AS classification,
                   i.status, i.superseded_at,
                   LEAST(i.removed_at, i.reported_removed_at) AS removed_at,
                   (SELECT min(r.created_at) FROM {responses} AS r JOIN {answers} AS ru
                        ON ru.providerresponse_id = r.id
                    WHERE r.notice_id = i.notice_id AND ru.url_id = i.url_id) AS answered_at,
                   EXISTS (SELECT 1 FROM {responses} AS r
                           JOIN {answers} AS ru ON ru.providerresponse_id = r.id
                           WHERE r.notice_id = i.notice_id AND ru.url_id = i.url_id
                             AND r.action = %(refused)s) AS refused
            FROM {NoticeItem._meta.db_table} AS i
            JOIN {Notice._meta.db_table} AS n ON n.id = i.notice_id
            JOIN {Url._meta.db_table} AS u ON u.id = i.url_id
            LEFT JOIN {Assessment._meta.db_table} AS a ON a.id = u.current_assessment_id
            WHERE n.sent_at >= %(since)s AND n.sent_at < %(until)s AND n.status <> %(withdrawn)s
              AND n.notice_type = ANY(%(types)s)
        ), t AS (
            SELECT notice_id, provider_id, legality, classification,
                   CASE WHEN superseded_at IS NOT NULL AND (removed_at <= superseded_at) IS NOT TRUE
                            THEN 'superseded'
                        WHEN removed_at IS NOT NULL OR status IN (%(removed)s, %(reported)s) THEN 'removed'
                        WHEN status = %(disputed)s THEN 'not_our_customer'
                        WHEN refused THEN 'refused'
                        WHEN answered_at IS NOT NULL THEN 'answered'
                        ELSE 'no_answer' END AS action,
                   CASE WHEN superseded_at IS NOT NULL AND (removed_at <= superseded_at) IS NOT TRUE THEN NULL
                        ELSE EXTRACT(EPOCH FROM (LEAST(removed_at, answered_at) - sent_at))::float8
                   END AS seconds
            FROM item
        )
        SELECT GROUPING(provider_id), GROUPING(legality, classification), GROUPING(action),
               provider_id, legality, classification, action,
               count(DISTINCT notice_id), count(*), count(seconds),
               percentile_disc(0.5) WITHIN GROUP (ORDER BY seconds),
               percentile_disc(0.9) WITHIN GROUP (ORDER BY seconds)
        FROM t
        GROUP BY GROUPING SETS ((provider_id), (legality, classification), (action), ())
    """


def _content_name(legality: str, classification: str) -> str:
    if not legality:
        return "(not assessed)"
    name = Legality(legality).label if legality in Legality.values else legality
    if classification:
        label = Classification(classification).label if classification in Classification.values else ""
        name += f" — {label or classification}"
    return str(name)


def trusted_flagger_report(*, year: int, now: datetime, notice_types: list[str] | None = None) -> dict:
    """The report of `year` (see the module's docstring): a summary and the rows of the three breakdowns,
    each ordered by URLs (most first), then name."""
    since, until = year_bounds(year)
    types = notice_types or [NoticeType.TRUSTED_FLAGGER]
    params = {
        "since": since,
        "until": until,
        "types": list(types),
        "withdrawn": NoticeStatus.WITHDRAWN,
        "refused": ResponseAction.REFUSED,
        "removed": ItemStatus.REMOVED,
        "reported": ItemStatus.REPORTED_REMOVED,
        "disputed": ItemStatus.DISPUTED,
    }
    with connection.cursor() as cursor:
        cursor.execute(_sql(), params)
        results = cursor.fetchall()
    providers = {
        pk: (slug, name) for pk, slug, name in HostingProvider.objects.values_list("pk", "slug", "name")
    }
    rows, summary = [], _figures(year, "all", "", "All notices", (0, 0, 0, None, None))
    for g_provider, g_content, g_action, provider, legality, classification, action, *figures in results:
        if g_provider == 0:
            key, name = providers.get(provider, ("", "(no provider)"))
            rows.append(_figures(year, "provider", key, name, figures))
        elif g_content == 0:
            key = f"{legality}/{classification}" if legality else ""
            rows.append(_figures(year, "content", key, _content_name(legality, classification), figures))
        elif g_action == 0:
            rows.append(_figures(year, "action", action, ACTIONS[action], figures))
        else:
            summary = _figures(year, "all", "", "All notices", figures)
    rows.sort(key=lambda r: (list(GROUPS).index(r["group"]), -r["urls"], r["name"]))
    return {
        "year": year,
        "computed_at": now,
        "notice_types": sorted(types),
        "unit": "seconds",
        "summary": summary,
        "rows": rows,
    }


def _figures(year: int, group: str, key: str, name: str, figures) -> dict:
    notices, urls, processed, median, p90 = figures
    return {
        "year": year,
        "group": group,
        "key": key,
        "name": name,
        "notices": notices,
        "urls": urls,
        "processed": processed,
        "median_seconds": finite(median),
        "p90_seconds": finite(p90),
    }


def flagger_csv(report: dict) -> str:
    """The report's rows as CSV (one header line, FLAGGER_COLUMNS), the summary last as group "all"."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FLAGGER_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows([*report["rows"], report["summary"]])
    return out.getvalue()
