"""The retention purge: ended cases lose their URL after the retention period; the statistics stay.

A case is due when it ended — removed, gone before notice or closed (by `removal_confirmed_at` / `closed_at`)
longer than `RetentionPolicy.ended_cases_days` ago, or judged not illegal (its current assessment) longer than
`not_illegal_days` ago — and nothing checks it any more (`next_check_at` empty: a removed URL is watched for
reappearance first). Purging a case:

1. removes its strings: the URL's original and canonical form, host and hash (`canonical_hash` NULL: a new
   report of the same URL opens a new case) and site; its reports' original URLs, notes, hashes and
   reporter e-mail addresses (public form), and the hash values matched across cases; its assessments'
   notes; its checks' final URLs; its traces' host, CNAMEs and the host in their sources; the notes of its
   URL overrides;
2. redacts the case's host names (with what follows them: port, path, query; in any letter case, defanged
   too) and every URL-like token from the data of its timeline events and its notices' events, from the
   audit rows about it, from its notices' provider responses, inbound mails and analyst replies — on the
   timeline and the audit log the one write the append-only trigger lets through, opened with
   `SET LOCAL notices.retention_purge = 'on'` for the purge's own transaction;
3. marks it `purged_at`; a notice whose last URL goes loses its stored mails (text, HTML, MIME: they list
   every URL) and is marked `purged_at` too.

Kept: ids, statuses, every time stamp, provider, ASN and country (at notice time and in the traces), the IP
addresses, assessments' legality and classification, response actions, escalations, removal cycles — what the
statistics, snapshots and reports count, so their figures do not change. Cases go in batches of
RETENTION_BATCH_SIZE, each in one transaction that locks its rows and checks them again. A dry run counts what
would go and writes nothing; a real run writes one `retention.purge` audit row with the counts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet

from notices.canonical import URL_LIKE
from notices.enums import UrlStatus
from notices.infra.events import audit
from notices.models import (
    AnalystReply,
    Assessment,
    AuditEvent,
    ChannelReport,
    Check,
    Event,
    HostingOverride,
    HostingTrace,
    InboundMessage,
    MediaHash,
    Notice,
    NoticeItem,
    OutgoingMessage,
    ProviderResponse,
    Report,
    RetentionPolicy,
    Url,
)
from notices.selectors.audit import about_urls

REDACTED = "[purged]"
PURGE_ACTION = "retention.purge"
ENDED = (UrlStatus.REMOVED, UrlStatus.GONE_BEFORE_NOTICE)
_MIN_NEEDLE = 4  # shorter host names are not searched for in free text (they would match too much)


@dataclass
class PurgeReport:
    """What a purge removed (or, in a dry run, would remove): rows changed per kind."""

    now: datetime
    dry_run: bool
    ended_before: datetime
    not_illegal_before: datetime
    counts: Counter = field(default_factory=Counter)

    def describe(self) -> str:
        head = "Would purge" if self.dry_run else "Purged"
        parts = ", ".join(f"{kind} {n}" for kind, n in sorted(self.counts.items()) if kind != "urls")
        return (
            f"{head} {self.counts['urls']} case(s) ended before {self.ended_before:%Y-%m-%d %H:%M} "
            f"(not illegal: before {self.not_illegal_before:%Y-%m-%d %H:%M})"
            + (f"; rows: {parts}" if parts else "")
            + "."
        )


def due_cases(*, now: datetime, policy: RetentionPolicy) -> QuerySet[Url]:
    """The cases whose retention period is over (module docstring), not purged yet."""
    ended_before = now - timedelta(days=policy.ended_cases_days)
    not_illegal_before = now - timedelta(days=policy.not_illegal_days)
    return Url.objects.filter(purged_at=None, next_check_at=None).filter(
        Q(status__in=ENDED, removal_confirmed_at__lt=ended_before)
        | Q(status=UrlStatus.CLOSED, closed_at__lt=ended_before)
        | Q(status=UrlStatus.NOT_ILLEGAL, current_assessment__created_at__lt=not_illegal_before)
    )


def purge(
    *,
    now: datetime,
    dry_run: bool = False,
    via: str = "schedule",
    on_progress: Callable[[int, int], object] | None = None,
) -> PurgeReport:
    """Purge every due case (module docstring), in batches; `on_progress(n, total)` after each batch of n of
    the total cases.

    Side effects (not with `dry_run`): the rows of each case and of its notices redacted as described, each
    batch in its own transaction; one `retention.purge` audit row (actor `system`; `via`: schedule or
    command) with the cut-off times and the counts.
    """
    policy = RetentionPolicy.current()
    report = PurgeReport(
        now=now,
        dry_run=dry_run,
        ended_before=now - timedelta(days=policy.ended_cases_days),
        not_illegal_before=now - timedelta(days=policy.not_illegal_days),
    )
    ids = list(due_cases(now=now, policy=policy).order_by("pk").values_list("pk", flat=True))
    size = settings.RETENTION_BATCH_SIZE
    for start in range(0, len(ids), size):
        batch = ids[start : start + size]
        earlier = ids[:start] if dry_run else []  # a dry run left them as they were
        with transaction.atomic():
            report.counts += _purge_batch(batch, now=now, policy=policy, dry_run=dry_run, earlier=earlier)
        if on_progress is not None:
            on_progress(len(batch), len(ids))
    if not dry_run:
        audit(
            actor="system",
            action=PURGE_ACTION,
            object_type="url",
            data={
                "via": via,
                "now": now.isoformat(),
                "ended_before": report.ended_before.isoformat(),
                "not_illegal_before": report.not_illegal_before.isoformat(),
                "counts": dict(sorted(report.counts.items())),
            },
        )
    return report


def _purge_batch(
    ids: list[int], *, now: datetime, policy: RetentionPolicy, dry_run: bool, earlier: list[int]
) -> Counter:
    """One batch in the caller's transaction: lock the cases still due, redact what names them. `earlier`:
    cases a dry run counted in its earlier batches (as if purged)."""
    cases = due_cases(now=now, policy=policy).filter(pk__in=ids)
    urls = list(cases if dry_run else cases.select_for_update(of=("self",)))
    if not urls:
        return Counter()
    purge = _Purge(ids=[url.pk for url in urls], dry_run=dry_run, needles=host_pattern(urls))
    if dry_run:
        purge.run(now, earlier)
        return purge.counts
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL notices.retention_purge = 'on'")  # the door of migration 0025
        purge.run(now, earlier)
        Url.objects.filter(pk__in=purge.ids).update(
            original="", canonical="", host="", site="", canonical_hash=None, purged_at=now
        )
        cursor.execute("SET LOCAL notices.retention_purge = 'off'")  # closed again for the rest
    return purge.counts


def host_pattern(urls: list[Url]) -> re.Pattern | None:
    """One case-insensitive pattern for the host names of these cases (their URLs', reports', final URLs',
    traces' and CNAMEs'), plain and defanged, with whatever port, path or query follows: a URL of the case
    anywhere contains one. A longer name that merely ends in one (another site's subdomain) does not match.
    Host names, not whole URLs: a few alternatives per case keep the pattern fast on long texts."""
    ids = [url.pk for url in urls]
    strings = {s for url in urls for s in (url.original, url.canonical)}
    strings |= set(Report.objects.filter(url_id__in=ids).values_list("original_url", flat=True))
    checks = Check.objects.filter(url_id__in=ids).exclude(final_url="")
    strings |= set(checks.values_list("final_url", flat=True).distinct())
    hosts = {url.host for url in urls} | {_host(s) for s in strings}
    for host, cnames in HostingTrace.objects.filter(url_id__in=ids).values_list("host", "cnames"):
        hosts |= {host, *(c for c in cnames or [] if isinstance(c, str))}
    hosts = {h.strip().rstrip(".").lower() for h in hosts}
    forms = hosts | {h.replace(".", "[.]") for h in hosts}
    wanted = sorted((f for f in forms if len(f) >= _MIN_NEEDLE), key=len, reverse=True)
    if not wanted:
        return None
    names = "|".join(map(re.escape, wanted))
    return re.compile(rf"(?<![\w.-])(?:{names})(?![\w-])(?:[:/?#][^\s<>\"']*)?", re.IGNORECASE)


def _host(url: str) -> str:
    try:
        return urlsplit(url.strip()).hostname or ""
    except ValueError:  # a reported string that is no URL at all (its host is the case's anyway)
        return ""


def redact(value, needles: re.Pattern | None, *, free_text: bool = True):
    """`value` (a string, or JSON of them) with the case's strings — and, in free text, every URL-like token —
    replaced by "[purged]"."""
    if isinstance(value, str):
        text = URL_LIKE.sub(_redacted_url, value) if free_text else value
        return needles.sub(_redacted_url, text) if needles is not None else text
    if isinstance(value, list):
        return [redact(item, needles, free_text=free_text) for item in value]
    if isinstance(value, dict):
        return {key: redact(item, needles, free_text=free_text) for key, item in value.items()}
    return value


def _redacted_url(match: re.Match) -> str:
    """A URL-like token or a host with its path redacted; punctuation that ends the sentence it stands in
    stays."""
    token = match.group(0)
    return REDACTED + token[len(token.rstrip(".,;:!?)")) :]


@dataclass
class _Purge:
    """The writes of one batch (none in a dry run), counting the rows each kind changes."""

    ids: list[int]
    dry_run: bool
    needles: re.Pattern | None
    counts: Counter = field(default_factory=Counter)

    def clear(self, kind: str, queryset: QuerySet, **values) -> None:
        """Set `values` on the rows of `queryset` that still hold something else."""
        holding = queryset.exclude(**values) if values else queryset
        self.counts[kind] += holding.count() if self.dry_run else holding.update(**values)

    def rewrite(
        self,
        kind: str,
        rows: Iterable,
        fields: list[str],
        *,
        free_text: bool = True,
        fixed: dict | None = None,
    ) -> None:
        """Redact `fields` of each row (and set the `fixed` values); write (bulk) the rows that changed."""
        changed = []
        fixed = fixed or {}
        for row in rows:
            values = {name: redact(getattr(row, name), self.needles, free_text=free_text) for name in fields}
            values.update(fixed)
            if any(values[name] != getattr(row, name) for name in values):
                for name, value in values.items():
                    setattr(row, name, value)
                changed.append(row)
        self.counts[kind] += len(changed)
        if changed and not self.dry_run:
            row_type = type(changed[0])
            row_type.objects.bulk_update(changed, [*fields, *fixed], batch_size=500)

    def run(self, now: datetime, earlier: list[int]) -> None:
        self.case_rows()
        self.linked_rows()
        self.notices(now, earlier)
        self.counts["urls"] = len(self.ids)

    def case_rows(self) -> None:
        """Step 1 (and the case's overrides and traces): the rows of the cases themselves."""
        ids = self.ids
        self.clear(
            "reports",
            Report.objects.filter(url_id__in=ids),
            original_url="",
            notes="",
            hashes=[],
            reporter_email="",
        )
        hashes = MediaHash.objects.filter(url_id__in=ids)
        dropped = hashes.count() if self.dry_run else hashes.delete()[0]
        if dropped:
            self.counts["media_hashes"] += dropped
        self.clear("assessments", Assessment.objects.filter(url_id__in=ids), notes="")
        self.clear("checks", Check.objects.filter(url_id__in=ids), final_url="")
        traces = HostingTrace.objects.filter(url_id__in=ids).only("pk", "host", "cnames", "sources")
        self.rewrite("traces", traces, ["sources"], free_text=False, fixed={"host": "", "cnames": []})
        self.rewrite("overrides", HostingOverride.objects.filter(url_id__in=ids).only("pk", "note"), ["note"])

    def linked_rows(self) -> None:
        """Step 2: timeline, audit rows, and the free texts of the cases' notices."""
        notice_ids = set(NoticeItem.objects.filter(url_id__in=self.ids).values_list("notice_id", flat=True))
        events = Event.objects.filter(Q(url_id__in=self.ids) | Q(notice_id__in=notice_ids))
        self.rewrite("events", events.only("pk", "data").order_by("pk").iterator(2000), ["data"])
        audits = AuditEvent.objects.filter(about_urls(self.ids)).only("pk", "data").order_by("pk")
        self.rewrite("audit_rows", audits.iterator(2000), ["data"])
        responses = ProviderResponse.objects.filter(notice_id__in=notice_ids)
        self.rewrite(
            "responses",
            responses.only("pk", "message", "statement_of_reasons"),
            ["message", "statement_of_reasons"],
        )
        inbound = InboundMessage.objects.filter(notice_id__in=notice_ids)
        self.rewrite(
            "inbound_mails",
            inbound.only("pk", "subject", "text", "bounce_diagnostic"),
            ["subject", "text", "bounce_diagnostic"],
        )
        replies = AnalystReply.objects.filter(notice_id__in=notice_ids).only("pk", "body")
        self.rewrite("analyst_replies", replies, ["body"])

    def notices(self, now: datetime, earlier: list[int]) -> None:
        """Step 3: notices whose every URL is purged (before, or in this batch) lose their stored mails."""
        notice_ids = NoticeItem.objects.filter(url_id__in=self.ids).values("notice_id")
        still_named = NoticeItem.objects.filter(url__purged_at=None).exclude(url_id__in=self.ids + earlier)
        done = Notice.objects.filter(pk__in=notice_ids, purged_at=None).exclude(
            pk__in=still_named.values("notice_id")
        )
        done_ids = list(done.values_list("pk", flat=True))
        if not done_ids:
            return
        messages = OutgoingMessage.objects.filter(notice_id__in=done_ids)
        self.clear("mails", messages.exclude(text="", html="", mime=None), text="", html="", mime=None)
        reports = ChannelReport.objects.filter(notice_id__in=done_ids).exclude(label="")
        if reports.exists():  # what abuse APIs were sent: their labels name the reported hostnames
            self.clear("channel_reports", reports, label="")
        self.clear("notices", Notice.objects.filter(pk__in=done_ids), purged_at=now)
