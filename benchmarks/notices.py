"""P9 and P10: notices rendered and queued, then delivered from the outbox to a local SMTP sink.

- P9: notices/s through the project's path — `create_notice_batches(..., queue_as=...)` over the providers'
  batches, `DISPATCH_CHUNK` providers per call and transaction, as `dispatch_due` does: set-based validation
  of every URL (read as tuples, not model instances), ids and references from the sequences, the templates
  looked up once per language, each mail rendered (subject, text, HTML) and its outbox row written, the
  INSERTs of notices, items, events and outbox rows running on a `WriteBehind` while the next mails render —
  versus a bare loop rendering the same templates (subject, text, HTML) for the same notices the same number
  of times, with their contexts built beforehand. Templates and translations are warmed up before either clock
  starts; three rounds on fresh tables, medians compared. The after-commit task hand-off goes to Celery's
  in-memory transport: the benchmark measures the project, not a broker. (The attachments and the MIME bytes
  are made by the delivery worker's first attempt, so P10 pays for them.)
- P10: outbox messages/s delivered to the SMTP sink (`tracker.embedded.smtp` in its own process) by 1, 2
  and 4 worker processes (`benchmarks.outbox_worker`), each looping claim_due_messages + send_claimed until
  nothing is due (the first attempt also builds each message's X-ARF reports, CSV and MIME bytes and stores
  them). A third of the queued messages go to each run; the 2- and 4-worker rates are compared with the
  1-worker rate (the scaling ratio; on a machine with fewer cores than workers it says where the CPU runs
  out)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from benchmarks.harness import Result, Stopwatch, celery_broker, log, progress, reset_database, stop_process

SIZES = {"small": (1_000, 10_000), "full": (10_000, 100_000)}  # notices, items
LANGUAGES = ["en", "de", "nl", "fr"]
COUNTRIES = ["NL", "FR", "BG", "RO", "SE", "US"]  # never the hotline's own (routing would stop the notice)


def load_assessed_items(notices: int, items: int) -> dict[int, list[int]]:
    """`notices` providers (one abuse contact each, languages in turn) with `items / notices` assessed URLs
    each, written with SQL; returns the URL ids per provider (the batches)."""
    from django.conf import settings
    from django.db import connection

    from notices.models import Assessment, HostingProvider, ProviderContact, Url

    countries = [c for c in COUNTRIES if c != settings.HOTLINE_COUNTRY]
    providers = HostingProvider.objects.bulk_create(
        [
            HostingProvider(
                slug=f"bench-{i}",
                name=f"Bench Hosting {i}",
                country=countries[i % len(countries)],
                language=LANGUAGES[i % 4],
                time_zone="Europe/Amsterdam",
            )
            for i in range(notices)
        ]
    )
    ProviderContact.objects.bulk_create(
        [ProviderContact(provider=p, email=f"abuse@{p.slug}.example") for p in providers]
    )
    urls, assessments = Url._meta.db_table, Assessment._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {urls} (original, canonical, canonical_hash, host, status, first_reported_at,
                    assessed_at, created_at, consecutive_gone, reappearance_count, country_at_notice,
                    notice_type_at_notice, last_outcome, first_gone_vantage, provider_id)
                SELECT u, u, sha256(u::bytea), h, 'assessed', now(), now(), now(), 0, 0, '', '', '', '',
                       (%(providers)s::bigint[])[1 + (g - 1) / %(per)s]
                FROM generate_series(1, %(n)s) AS g,
                     LATERAL (SELECT 'files' || g || '.bench-' || ((g - 1) / %(per)s) || '.example') AS a(h),
                     LATERAL (SELECT 'http://' || h || '/gallery/' || g || '.html') AS x(u)""",
            {"providers": [p.pk for p in providers], "per": items // notices, "n": items},
        )
        cursor.execute(
            f"""INSERT INTO {assessments} (url_id, legality, classification, detection_method, media_type,
                    legal_basis, notes, created_at, age_band, victim_gender, virtual_content, user_generated,
                    child_modelling, site_type, payment_methods, outcome_reason)
                SELECT id, 'illegal_international', 'A1', 'manual_review', 'image', '§ 184b StGB', '', now(),
                       '', '', false, false, false, '', '{{}}', ''
                FROM {urls}"""
        )
        cursor.execute(
            f"UPDATE {urls} AS u SET current_assessment_id = a.id"
            f" FROM {assessments} AS a WHERE a.url_id = u.id"
        )
        # Settle the tables before the clock starts: autovacuum waking up on 20,000 fresh rows mid-measurement
        # would take a core from the run it happens to fall in.
        cursor.execute(f"VACUUM ANALYZE {urls}, {assessments}")
    batches: dict[int, list[int]] = {}
    for url_id, provider_id in Url.objects.order_by("pk").values_list("pk", "provider_id"):
        batches.setdefault(provider_id, []).append(url_id)
    return batches


def queue_all(batches: dict[int, list[int]]) -> list[int]:
    """The project's path: one notice per provider batch, created and queued (outbox row with full MIME), the
    providers taken `DISPATCH_CHUNK` at a time as `dispatch_due` takes them."""
    from django.utils import timezone

    from notices.services.batch.notices import create_notice_batches
    from notices.services.dispatch import DISPATCH_CHUNK
    from tracker.runtime import collector_paused

    notice_ids = []
    pending = list(batches.values())  # URL ids, as dispatch passes the URLs it read
    with collector_paused():  # as the dispatch task runs it
        for start in progress(range(0, len(pending), DISPATCH_CHUNK), desc="P9 queue", unit="chunk"):
            made = create_notice_batches(
                batches=pending[start : start + DISPATCH_CHUNK],
                notice_type="hotline_notice",
                now=timezone.now(),
                queue_as="dispatch",
            )
            assert not made.errors, made.errors
            notice_ids += [notice.pk for notice in made.notices]
    return notice_ids


def render_loop(notice_ids: list[int]) -> float:
    """The baseline: render subject, text and HTML of each notice from contexts built before the clock
    starts."""
    from django.utils import timezone

    from notices.delivery.compose import notice_context, render_notice
    from notices.models import Notice

    now = timezone.now()
    notices = Notice.objects.select_related("provider").filter(pk__in=notice_ids)
    contexts = [(notice, notice_context(notice, now=now)) for notice in notices]
    with Stopwatch() as sw:
        for notice, context in contexts:
            render_notice(notice, context, template=None)
    return sw.seconds


def warm_up() -> None:
    """Compile the mail templates and load each language's translations before any clock starts: one-time
    start-up work, charged otherwise to whichever of the two measurements happens to run first."""
    from django.utils import translation

    from notices.delivery.compose import mail_templates

    for (language, _type), templates in mail_templates(
        (lang, "hotline_notice") for lang in LANGUAGES
    ).items():
        with translation.override(language):
            for template in templates:
                template.render({})


def measure_p9(scale: str) -> tuple[list[Result], list[int]]:
    """`ROUNDS` rounds on fresh tables, each timing the project's path and then the bare loop over the notices
    it made; the medians are compared (a single round on this kind of machine varies by a third)."""
    n_notices, n_items = SIZES[scale]
    warm_up()
    project_times, bare_times = [], []
    with celery_broker("memory://"):  # connections of its own, closed afterwards
        for round_ in range(1, ROUNDS + 1):
            if round_ > 1:
                reset_database()
            log(f"P9 round {round_}/{ROUNDS}: loading {n_items:,} assessed URLs for {n_notices:,} providers")
            batches = load_assessed_items(n_notices, n_items)
            with Stopwatch() as sw:
                notice_ids = queue_all(batches)
            project_times.append(sw.seconds)
            bare_times.append(render_loop(notice_ids))
            log(
                f"P9 round {round_}: {len(notice_ids) / project_times[-1]:,.0f} notices/s queued, "
                "bare render "
                f"loop {len(notice_ids) / bare_times[-1]:,.0f} notices/s"
            )
    project = len(notice_ids) / statistics.median(project_times)
    bare = len(notice_ids) / statistics.median(bare_times)
    log(f"P9 (medians of {ROUNDS}): {project:,.0f} notices/s queued, bare render loop {bare:,.0f} notices/s")
    result = Result.compare(
        id="P9",
        name=f"notices rendered and queued ({n_items:,} items)",
        value=project,
        unit="notices/s",
        better="higher",
        target="≥ 0.5×",
        baseline="bare template-render loop",
        baseline_value=bare,
        scale=scale,
        n=len(notice_ids),
    )
    return [result], notice_ids


ROUNDS = 3
WORKER_COUNTS = (1, 2, 4)  # P10: outbox worker processes per run


class SmtpSinkProcess:
    """The local SMTP sink in its own process, writing .eml files to a temporary directory."""

    def __enter__(self) -> SmtpSinkProcess:
        self.dir = tempfile.TemporaryDirectory(prefix="bench-mail-")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tracker.embedded.smtp", "--port", "0", "--dir", self.dir.name],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            self.port = int(self.proc.stdout.readline().split(":")[1].split(",")[0])
        except BaseException:
            self.__exit__()
            raise
        return self

    def count(self) -> int:
        return len(list(Path(self.dir.name).glob("*.eml")))

    def __exit__(self, *exc) -> None:
        try:
            stop_process(self.proc, timeout=10)
        finally:
            self.dir.cleanup()


def deliver(workers: int, port: int) -> float:
    """Start `workers` outbox workers, let them go at once, wait until each finds nothing due; seconds."""
    # A delivery worker hands tasks to its broker after commit (the statistics refresh after a first notice):
    # Celery's in-memory transport, as in P9, so the run measures delivery and not a broker's round trip, and
    # never a connection attempt to a broker that is not there.
    env = {
        **os.environ,
        "EMAIL_URL": "",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "CELERY_BROKER_URL": "memory://",
        # P10 measures the outbox, not DNS: the pre-send re-check would resolve every URL's (reserved) host
        # through the machine's resolver.
        "PRESEND_RECHECK": "false",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.outbox_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(workers)
    ]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready"
        with Stopwatch() as sw:
            for proc in procs:
                proc.stdin.write("go\n")
                proc.stdin.flush()
            for proc in procs:
                proc.wait()
    finally:
        for proc in procs:
            stop_process(proc)
    if any(proc.returncode for proc in procs):
        raise RuntimeError(f"an outbox worker failed: exit statuses {[proc.returncode for proc in procs]}")
    return sw.seconds


def measure_p10(scale: str, notice_ids: list[int]) -> list[Result]:
    """A third of the messages are due for each of the 1-, 2- and 4-worker runs."""
    from django.utils import timezone

    from notices.enums import OutboxStatus
    from notices.models import OutgoingMessage

    third = len(notice_ids) // len(WORKER_COUNTS)
    parts = [notice_ids[i * third : (i + 1) * third] for i in range(len(WORKER_COUNTS) - 1)]
    parts.append(notice_ids[(len(WORKER_COUNTS) - 1) * third :])
    OutgoingMessage.objects.update(next_attempt_at=timezone.now() + timedelta(days=1))
    results, baseline = [], None
    with SmtpSinkProcess() as sink:
        for workers, part in zip(WORKER_COUNTS, parts, strict=True):
            OutgoingMessage.objects.filter(notice_id__in=part).update(next_attempt_at=timezone.now())
            seconds = deliver(workers, sink.port)
            sent = OutgoingMessage.objects.filter(notice_id__in=part, status=OutboxStatus.SENT).count()
            rate = sent / seconds
            log(
                f"P10: {workers} worker(s): {sent:,} of {len(part):,} sent in {seconds:.1f} s "
                f"({rate:,.0f}/s); "
                f"sink holds {sink.count():,} mails"
            )
            baseline = baseline or rate
            results.append(
                Result.compare(
                    id="P10",
                    name=f"outbox messages/s to the local SMTP sink, {workers} worker(s)",
                    value=rate,
                    unit="messages/s",
                    better="higher",
                    target="report",
                    baseline=None if workers == 1 else "1 worker",
                    baseline_value=None if workers == 1 else baseline,
                    scale=scale,
                    n=sent,
                )
            )
    return results


def run(scale: str) -> list[Result]:
    reset_database()
    p9, notice_ids = measure_p9(scale)
    p10 = measure_p10(scale, notice_ids)
    reset_database()
    return p9 + p10
