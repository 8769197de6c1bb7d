"""The figures a hotline publishes for a year (INHOPE/IWF style) and the transparency report.

A year's cases are those whose first notice was sent in it (UTC), as the statistics count them
(notices/selectors/stats.py: current and finished cycles, neither gone before notice nor closed) —
"URLs actioned". Every figure comes from `live_stats` (the figures of `ttr_stats`), so it keeps the
definitions of INTERFACES.md: "removed the same day" is the share removed within 24 hours of the first
notice, "within 3 days" within 72 hours, each as {low, high} from the two bounds of the removal interval.

The law-enforcement share is per URL (a referral is recorded once per URL, `Url.le_referred_at`): of the URLs
whose current cycle's first notice fell in the year, the part referred within 3 days of their first report.

Nothing here names a URL, a host or a person: keys are member states (ISO 3166-1 alpha-2) and provider names.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from django.db import connection

from notices.enums import NoticeStatus, ResponseAction
from notices.models import ClockStop, HostingProvider, Notice, RemovalCycle, Url
from notices.selectors import stats_columns
from notices.selectors.stats import finite, live_stats, time_to_removal

# The columns of a transparency report row, in order (CSV header, JSON keys).
REPORT_COLUMNS = [
    "year",
    "group",
    "key",
    "name",
    "count",
    "share",
    "removed",
    "still_up",
    "median_low",
    "median_high",
    "share_under_24h_low",
    "share_under_24h_high",
    "share_under_72h_low",
    "share_under_72h_high",
]


def year_bounds(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def yearly_figures(*, year: int, now: datetime) -> dict:
    """URLs actioned in `year`, the share hosted in the EU and per member state, the shares removed within
    24 h / 72 h, the share referred to law enforcement within 3 days, and the median TTR ({low, high})."""
    since, until = year_bounds(year)
    window = {"since": since, "until": until}
    # No survival curves: none is shown, and without them the percentiles need no sort.
    (overall,) = live_stats(group_by="all", now=now, survival=False, **window) or [None]
    member_states = live_stats(group_by="member_state", now=now, survival=False, **window)
    in_eu = sum(g["count"] for g in member_states)  # the member states are the EU-27, each case in one
    actioned = overall["count"] if overall else 0
    return {
        "year": year,
        "computed_at": now,
        "urls_actioned": actioned,
        "share_eu": in_eu / actioned if actioned else None,
        "urls_eu": in_eu,
        "removed": overall["removed"] if overall else 0,
        "still_up": overall["still_up"] if overall else 0,
        "median": overall["median"] if overall else {"low": None, "high": None},
        "share_removed_same_day": overall["share_under_24h"] if overall else None,
        "share_removed_within_3_days": overall["share_under_72h"] if overall else None,
        "law_enforcement": _law_enforcement(since, until),
        "member_states": [_member_state(g) for g in member_states],
    }


def _law_enforcement(since: datetime, until: datetime) -> dict:
    total, within = stats_columns.law_enforcement(stats_columns.current_cases(), since=since, until=until)
    return {"urls": total, "referred_within_3_days": within, "share": within / total if total else None}


def _member_state(group: dict) -> dict:
    return {
        "key": group["key"],
        "count": group["count"],
        "share": group["share"],
        "removed": group["removed"],
        "still_up": group["still_up"],
        "median": group["median"],
        "share_under_24h": group["share_under_24h"],
        "share_under_72h": group["share_under_72h"],
        "still_up_after_days": group["still_up_after_days"],
    }


def transparency_report(*, year: int, now: datetime) -> dict:
    """Per member state and per provider: counts, shares of the year's cases, median TTR and the shares
    removed within 24 h / 72 h. No URLs, no hosts, no people: the keys are country codes and provider
    names."""
    figures = yearly_figures(year=year, now=now)
    window = dict(zip(("since", "until"), year_bounds(year), strict=True))
    providers = live_stats(group_by="provider", now=now, survival=False, **window)
    total = sum(g["count"] for g in providers)
    names = dict(HostingProvider.objects.values_list("slug", "name"))
    rows = [_row(year, "member_state", g, g["key"], g["share"]) for g in figures["member_states"]]
    rows += [
        _row(year, "provider", g, names.get(g["key"], "(no provider)"), g["count"] / total) for g in providers
    ]
    summary = {k: v for k, v in figures.items() if k not in ("member_states", "computed_at")}
    return {"year": year, "computed_at": now, "unit": "seconds", "summary": summary, "rows": rows}


def _row(year: int, group: str, figures: dict, name: str, share: float) -> dict:
    return {
        "year": year,
        "group": group,
        "key": figures["key"] if group == "member_state" else (figures["key"] or ""),
        "name": name,
        "count": figures["count"],
        "share": round(share, 4),
        "removed": figures["removed"],
        "still_up": figures["still_up"],
        "median_low": figures["median"]["low"],
        "median_high": figures["median"]["high"],
        "share_under_24h_low": round(figures["share_under_24h"]["low"], 4),
        "share_under_24h_high": round(figures["share_under_24h"]["high"], 4),
        "share_under_72h_low": round(figures["share_under_72h"]["low"], 4),
        "share_under_72h_high": round(figures["share_under_72h"]["high"], 4),
    }


def report_csv(report: dict) -> str:
    """The transparency report's rows as CSV (one header line, REPORT_COLUMNS)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(report["rows"])
    return out.getvalue()


def provider_scorecard(*, provider: HostingProvider, now: datetime) -> dict:
    """One provider's record: its cases' figures from the statistics (as of the snapshot or live, as
    `time_to_removal` serves them: counts, TTR median and p90 {low, high}, still up after 7 and 30 days, the
    survival curve), the reappearance rate (of its removals, the share whose content came back), and from its
    sent notices (withdrawn ones aside) the rates of "not our customer" (disputed) and "refused" (the
    provider holds the content not illegal) answers and the time to acknowledge (first answer minus sent, as
    {low, high}: a notice not answered yet counts as at least its age, with no upper bound).

    `computed_at` (= `as_of`) is when the time-to-removal figures were computed: the snapshot's time, or now
    when they are live. The notice and SLA figures are computed on every call, so none is older."""
    stats = time_to_removal(group_by="provider", now=now)
    group = next((g for g in stats["groups"] if g["key"] == provider.slug), None) or {}
    removed = group.get("removed", 0)
    return {
        "provider": {
            "slug": provider.slug,
            "name": provider.name,
            "country": provider.country,
            "is_eu": provider.is_eu,
        },
        "unit": "seconds",
        "computed_at": stats["computed_at"],
        "as_of": stats["as_of"],
        "age_seconds": stats["age_seconds"],
        "source": stats["source"],
        "cases": {
            name: group.get(name, 0) for name in ("count", "removed", "still_up", "reappeared", "closed")
        },
        "median": group.get("median", UNKNOWN),
        "p90": group.get("p90", UNKNOWN),
        "still_up_after_days": {d: group.get("still_up_after_days", {}).get(d, 0) for d in ("7", "30")},
        "survival": group.get("survival", []),
        "reappearance_rate": group["reappeared"] / removed if removed else None,
        "notices": _notice_figures(provider, now),
        "sla": sla_figures(provider=provider, now=now),
    }


UNKNOWN = {"low": None, "high": None}


def _notice_figures(provider: HostingProvider, now: datetime) -> dict:
    notices = Notice.objects.filter(provider=provider, sent_at__isnull=False).exclude(
        status=NoticeStatus.WITHDRAWN
    )
    answered = {
        action: notices.filter(responses__action=action).distinct().count()
        for action in (ResponseAction.NOT_OUR_CUSTOMER, ResponseAction.REFUSED)
    }
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH t AS (
                    SELECT EXTRACT(EPOCH FROM (COALESCE(acknowledged_at, %(now)s) - sent_at))::float8 AS lo,
                           COALESCE(EXTRACT(EPOCH FROM (acknowledged_at - sent_at))::float8,
                                    'Infinity'::float8) AS hi,
                           acknowledged_at IS NOT NULL AS ack
                    FROM {Notice._meta.db_table}
                    WHERE provider_id = %(provider)s AND sent_at IS NOT NULL AND status <> %(withdrawn)s)
                SELECT count(*), count(*) FILTER (WHERE ack),
                       percentile_disc(0.5) WITHIN GROUP (ORDER BY lo),
                       percentile_disc(0.5) WITHIN GROUP (ORDER BY hi)
                FROM t""",
            {"now": now, "provider": provider.pk, "withdrawn": NoticeStatus.WITHDRAWN},
        )
        sent, acknowledged, low, high = cursor.fetchone()
    disputed, refused = answered[ResponseAction.NOT_OUR_CUSTOMER], answered[ResponseAction.REFUSED]
    return {
        "sent": sent,
        "acknowledged": acknowledged,
        "time_to_acknowledge_median": {"low": finite(low), "high": finite(high)},
        "disputed": disputed,
        "dispute_rate": disputed / sent if sent else None,
        "refused_not_illegal": refused,
        "not_illegal_rate": refused / sent if sent else None,
    }


def sla_figures(*, provider: HostingProvider, now: datetime) -> dict:
    """The provider's SLA figures: its time to removal with the time each case's clock stood still left
    out — law-enforcement holds (the provider was not to be told) and pauses (it awaited the analyst's answer
    to its question or dispute), as far as they fall between the first notice and the removal (or now). The
    raw time to removal (`median`, `p90` of the scorecard and every statistic) keeps them. Computed live for
    the one provider (current and finished cycles, as the statistics count them)."""
    stop_end = "COALESCE(LEAST(s.ended_at, s.expires_at), %(now)s)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH c AS (
                    SELECT id AS url_id, first_notice_sent_at AS sent, ttr_low, ttr_high,
                           COALESCE(removed_high, %(now)s) AS upto
                    FROM {Url._meta.db_table}
                    WHERE provider_at_notice_id = %(provider)s AND first_notice_sent_at IS NOT NULL
                          AND status NOT IN ('gone_before_notice', 'closed')
                    UNION ALL
                    SELECT url_id, first_notice_sent_at, ttr_low, ttr_high, removed_high
                    FROM {RemovalCycle._meta.db_table} WHERE provider_at_notice_id = %(provider)s),
                t AS (
                    SELECT c.*, COALESCE((
                        SELECT sum(EXTRACT(EPOCH FROM
                                   (LEAST({stop_end}, c.upto) - GREATEST(s.started_at, c.sent))))
                        FROM {ClockStop._meta.db_table} AS s
                        WHERE s.url_id = c.url_id AND s.started_at < c.upto AND {stop_end} > c.sent
                    ), 0)::float8 AS stopped
                    FROM c),
                f AS (
                    SELECT stopped,
                           GREATEST(COALESCE(ttr_low::float8, EXTRACT(EPOCH FROM (%(now)s - sent)))
                                    - stopped, 0) AS lo,
                           COALESCE(GREATEST(ttr_high::float8 - stopped, 0), 'Infinity'::float8) AS hi
                    FROM t)
                SELECT count(*), count(*) FILTER (WHERE stopped > 0), COALESCE(sum(stopped), 0),
                       percentile_disc(0.5) WITHIN GROUP (ORDER BY lo),
                       percentile_disc(0.5) WITHIN GROUP (ORDER BY hi),
                       percentile_disc(0.9) WITHIN GROUP (ORDER BY lo),
                       percentile_disc(0.9) WITHIN GROUP (ORDER BY hi)
                FROM f""",
            {"now": now, "provider": provider.pk},
        )
        count, stopped_cases, stopped, *figures = cursor.fetchone()
    low50, high50, low90, high90 = (finite(v) for v in figures)
    return {
        "count": count,
        "cases_with_stopped_clock": stopped_cases,
        "stopped_seconds": int(stopped),
        "median": {"low": low50, "high": high50},
        "p90": {"low": low90, "high": high90},
    }
