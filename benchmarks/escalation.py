"""P7 (escalation): one sweep claims and performs the due steps; its cost grows with what is due, not with
what is open.

Two runs in one benchmark, each on fresh tables: `open` noticed cases whose next step lies ahead (spread over
a week), plus `due` cases whose first repeat notice is due now — five to a notice, their providers mailed in
four languages. Each run calls the sweep's two halves as the beat task does (`sweep` = `claim_due` then
`take_steps`), with the batch size set to take every due case in one sweep, and times them apart:

- selection: `claim_due` (the lease on the due cases, read from the partial index of scheduled cases);
- sweep: selection plus taking the steps — planning every case's ladder, one run per notice, the repeat
  notices rendered in the provider's language and written to the outbox, the cases' rows and timeline events.

The first run has `open` = 100,000 (10,000 at SCALE=small), the second 1,000,000 (100,000): the ratio of the
two is the measure that the cost does not grow with the open cases. The default policies come from migration
0028; the tables are emptied between the runs. The after-commit hand-off of the mails goes to Celery's
in-memory transport: the benchmark measures the sweep, not a broker.
"""

from __future__ import annotations

from benchmarks.harness import Result, Stopwatch, celery_broker, log, reset_database

SIZES = {"small": (10_000, 100_000, 2_000), "full": (100_000, 1_000_000, 10_000)}  # open, open, due
PER_NOTICE = 5
PROVIDERS = 100
LANGUAGES = ["en", "de", "nl", "fr"]


def load(open_items: int, due: int) -> None:
    """The providers, `open_items` cases with a step ahead and `due` cases due now (their notices sent a day
    and a second ago), written with SQL."""
    import importlib

    from django.apps import apps
    from django.db import connection

    from notices.models import HostingProvider, Notice, NoticeItem, ProviderContact, Url

    importlib.import_module("notices.migrations.0028_escalation").create_policies(apps, None)
    providers = HostingProvider.objects.bulk_create(
        HostingProvider(
            slug=f"p7-{i}",
            name=f"P7 Hosting {i}",
            country="NL",
            language=LANGUAGES[i % 4],
            time_zone="Europe/Amsterdam",
        )
        for i in range(PROVIDERS)
    )
    ProviderContact.objects.bulk_create(
        ProviderContact(provider=p, email=f"abuse@{p.slug}.example") for p in providers
    )
    ids = [p.pk for p in providers]
    urls, notices, items = Url._meta.db_table, Notice._meta.db_table, NoticeItem._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {urls} (original, canonical, canonical_hash, host, status, first_reported_at,
                    created_at, consecutive_gone, reappearance_count, country_at_notice,
                    notice_type_at_notice, last_outcome, first_gone_vantage, first_notice_sent_at,
                    provider_id, next_escalation_at)
                SELECT u, u, sha256(u::bytea), h, 'notified', now(), now(), 0, 0, 'NL', 'hotline_notice',
                       '', '',
                       CASE WHEN g <= %(due)s THEN now() - interval '1 day 1 second' ELSE now() END,
                       (%(providers)s::bigint[])[1 + ((g - 1) / %(per)s) %% %(count)s],
                       CASE WHEN g <= %(due)s THEN now() - interval '1 day 1 second'
                            ELSE now() + (1 + g %% 604800) * interval '1 second' END
                FROM generate_series(1, %(n)s) AS g,
                     LATERAL (SELECT 'files' || g || '.p7.example') AS a(h),
                     LATERAL (SELECT 'http://' || h || '/c/' || g) AS x(u)""",
            {"n": open_items + due, "due": due, "providers": ids, "per": PER_NOTICE, "count": PROVIDERS},
        )
        cursor.execute(
            f"""INSERT INTO {notices} (reference, provider_id, notice_type, status, language, deadline_at,
                    created_at, queued_at, sent_at, provider_ticket)
                SELECT 'TN-2000-' || lpad(k::text, 6, '0'), p.id, 'hotline_notice', 'sent', p.language,
                       now() - interval '1 second', now() - interval '1 day 1 second',
                       now() - interval '1 day 1 second', now() - interval '1 day 1 second', ''
                FROM generate_series(0, %(notices)s - 1) AS k
                JOIN {HostingProvider._meta.db_table} AS p
                  ON p.id = (%(providers)s::bigint[])[1 + k %% %(count)s]
                ORDER BY k""",
            {"notices": due // PER_NOTICE, "providers": ids, "count": PROVIDERS},
        )
        cursor.execute(
            f"""INSERT INTO {items} (notice_id, url_id, status, provider_id_copy, is_open)
                SELECT n.id, u.id, 'open', u.provider_id, TRUE
                FROM {urls} AS u
                JOIN {notices} AS n ON n.reference = 'TN-2000-' || lpad(((u.id - 1) / %(per)s)::text, 6, '0')
                WHERE u.id <= %(due)s""",
            {"per": PER_NOTICE, "due": due},
        )
        cursor.execute(f"ANALYZE {urls}")


def _plan() -> str:
    from django.db import connection
    from django.utils import timezone

    from notices.models import Url

    with connection.cursor() as cursor:
        cursor.execute(
            f"""EXPLAIN (COSTS OFF) SELECT id FROM {Url._meta.db_table}
                WHERE next_escalation_at IS NOT NULL AND next_escalation_at <= %s
                ORDER BY next_escalation_at LIMIT 10000 FOR UPDATE SKIP LOCKED""",
            [timezone.now()],
        )
        return "\n  ".join(row[0] for row in cursor.fetchall())


def one_sweep(open_items: int, due: int) -> tuple[float, float, int]:
    """(selection ms, sweep ms, runs taken) of the one sweep that takes every due case."""
    from django.utils import timezone

    from notices.models import OutgoingMessage
    from notices.services.escalation import claim_due, take_steps

    reset_database()
    log(f"P7: loading {open_items:,} open and {due:,} due cases")
    load(open_items, due)
    log("P7 plan of the selection:\n  " + _plan())
    now = timezone.now()
    with Stopwatch() as select:
        claimed = claim_due(now=now, limit=due)
    with Stopwatch() as take:
        taken = take_steps(claimed, now=now)
    mails = OutgoingMessage.objects.filter(run__isnull=False).count()
    if len(claimed) != due or taken != due // PER_NOTICE or mails != taken:
        raise RuntimeError(f"claimed {len(claimed)}, took {taken} runs, {mails} mails; expected {due} cases")
    log(
        f"P7: {open_items:,} open, {due:,} due: selection {select.seconds * 1000:,.0f} ms, steps "
        f"{take.seconds * 1000:,.0f} ms ({taken:,} repeat notices rendered and queued)"
    )
    return select.seconds * 1000, (select.seconds + take.seconds) * 1000, taken


def run(scale: str) -> list[Result]:
    small, large, due = SIZES[scale]
    with celery_broker("memory://"):
        base_select, base_sweep, _ = one_sweep(small, due)
        select, sweep, _ = one_sweep(large, due)
    reset_database()
    common = {"id": "P7", "unit": "ms", "better": "lower", "scale": scale, "n": large}
    return [
        Result.compare(
            name=f"escalation selection, {due:,} due of {large:,} open (ms)",
            value=select,
            target="< 1,000 ms",
            baseline=None,
            baseline_value=None,
            **common,
        ),
        Result.compare(
            name=f"escalation selection, {due:,} due of {large:,} open (ms)",
            value=select,
            target="≤ 2×",
            baseline=f"selection with {small:,} open",
            baseline_value=base_select,
            **common,
        ),
        Result.compare(
            name=f"escalation sweep, claim + {due:,} cases' steps performed (ms)",
            value=sweep,
            target="≤ 1.5×",
            baseline=f"sweep with {small:,} open",
            baseline_value=base_sweep,
            **common,
        ),
    ]
