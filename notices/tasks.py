"""Celery tasks: thin wrappers that load ids, call a service and log. Names are stable — never rename."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from notices.delivery.outbox import SmtpSession, claim_due_messages
from notices.delivery.webhooks import claim_due_deliveries, enqueue_new_deliveries
from notices.hosting.tracer import trace_url
from notices.infra import enqueue, partitions, ratelimit
from notices.infra.retry import backoff
from notices.models import RetentionPolicy, Url
from notices.selectors.stats import run_refresh
from notices.services import partner_webhooks, signin
from notices.services.alerts import send_alert, send_digest
from notices.services.channels import poll_due
from notices.services.checking import run_checks
from notices.services.delivery import send_claimed
from notices.services.dispatch import dispatch_due
from notices.services.escalation import sweep
from notices.services.hops import act_on_hop
from notices.services.orders import sweep_orders
from notices.services.retention import purge
from notices.services.tracing import queue_untraced
from notices.services.webhooks import deliver
from tracker.runtime import collector_paused

logger = logging.getLogger(__name__)


@shared_task(name="notices.trace_url", acks_late=True)
def trace_url_task(url_id: int, only_untraced: bool = False) -> str:
    """Trace one URL (DNS → prefixes → provider) and store the trace (a purged case has nothing to trace).
    `only_untraced` (the trace sweep's): not when a trace reached it meanwhile (the sweep queued it again
    while the first task was still waiting behind a backlog)."""
    url = Url.objects.filter(pk=url_id, purged_at=None).first()
    if url is None:
        return "missing"
    if only_untraced and url.traced_at is not None:
        return "traced-already"
    trace = trace_url(url=url, now=timezone.now())
    logger.info("traced url %s: ip=%s provider=%s error=%s", url_id, trace.ip, trace.provider_id, trace.error)
    if trace.is_hop:  # the content moved: supersede the old notice, notice the new provider
        act_on_hop(url_id=url_id, now=timezone.now())
    return trace.error or "ok"


@shared_task(name="notices.sweep_untraced", acks_late=True)
def sweep_untraced() -> int:
    """Beat: queue a trace for URLs assessed illegal that no trace reached (its task was lost with a broker
    that was down when the assessment committed)."""
    return queue_untraced(now=timezone.now(), limit=settings.TRACE_SWEEP_BATCH_SIZE)


@shared_task(name="notices.sweep_due_checks", acks_late=True)
def sweep_due_checks() -> int:
    """Beat: claim and check one bounded batch of due URLs; a full batch enqueues the next sweep at once, so
    a backlog spreads over every worker instead of waiting for the next beat tick."""
    return run_checks(
        now=timezone.now(), limit=settings.CHECK_BATCH_SIZE, on_full_batch=lambda: sweep_due_checks.delay()
    )


@shared_task(name="notices.check_urls_now", acks_late=True)
def check_urls_now(url_ids: list[int]) -> int:
    """Check these URLs at once (provider said "removed", analyst asked), if no other worker holds them."""
    return run_checks(now=timezone.now(), limit=len(url_ids), url_ids=url_ids)


@shared_task(name="notices.sweep_outbox", acks_late=True)
def sweep_outbox() -> int:
    """Beat: send outbox messages that are due (first attempts missed, retries, expired claims)."""
    ids = claim_due_messages(now=timezone.now(), limit=settings.OUTBOX_BATCH_SIZE)
    with SmtpSession() as smtp:  # one connection for the sweep
        for message_id in ids:
            send_claimed(message_id, smtp=smtp)
    return len(ids)


@shared_task(name="notices.deliver_message", acks_late=True)
def deliver_message_task(message_id: int) -> str:
    """Send one outbox message right after its notice was committed (beat covers anything missed)."""
    if not claim_due_messages(now=timezone.now(), limit=1, message_ids=[message_id]):
        return "not-due"
    return send_claimed(message_id)


@shared_task(name="notices.sweep_webhooks", acks_late=True)
def sweep_webhooks() -> int:
    """Beat: write deliveries for notices new to a provider's webhook, then send the due ones (retries
    too), and the due case events to partners' webhooks (notices/services/partner_webhooks.py)."""
    now = timezone.now()
    enqueue_new_deliveries(now=now, limit=settings.WEBHOOK_BATCH_SIZE)
    ids = claim_due_deliveries(now=now, limit=settings.WEBHOOK_BATCH_SIZE)
    for delivery_id in ids:
        outcome = deliver(delivery_id)
        logger.info("webhook delivery %s: %s", delivery_id, outcome)
    partner_ids = partner_webhooks.claim_due(now=now, limit=settings.WEBHOOK_BATCH_SIZE)
    for delivery_id in partner_ids:
        outcome = partner_webhooks.deliver(delivery_id)
        logger.info("partner webhook delivery %s: %s", delivery_id, outcome)
    return len(ids) + len(partner_ids)


@shared_task(name="notices.poll_channel_reports", acks_late=True)
def poll_channel_reports() -> int:
    """Beat: read the status of reports filed with providers' abuse APIs that are due (AWS Abuse Signal),
    one bounded batch, and record what changed (events; a "removed" outcome schedules a verification
    check)."""
    return poll_due(now=timezone.now(), limit=settings.CHANNEL_POLL_BATCH_SIZE)


@shared_task(name="notices.refresh_stats", acks_late=True)
def refresh_stats(requested_at: str | None = None) -> dict | None:
    """Beat, and debounced after a change the snapshots do not include (then naming its request): recompute
    the statistics snapshots (one per grouping), unless another refresh is running or the request was served
    already (then None: that one picks up what is left)."""
    request = datetime.fromisoformat(requested_at) if requested_at else None
    durations = run_refresh(now=timezone.now(), requested_at=request)
    if durations is None:
        logger.info("statistics refresh already running or its request served; collapsed")
    else:
        logger.info("statistics refreshed: %s ms", durations)
    return durations


@shared_task(name="notices.dispatch_notices", acks_late=True)
def dispatch_notices() -> int:
    """Beat: run the providers' dispatch cycles that are due (batch assessed URLs into notices, queue
    them)."""
    with collector_paused():  # the batch path only: see tracker.runtime.collector_paused
        notices = dispatch_due(now=timezone.now())
    if notices:
        logger.info("dispatched %s", ", ".join(n.reference for n in notices))
    return len(notices)


@shared_task(name="notices.sweep_escalations", acks_late=True)
def sweep_escalations() -> int:
    """Beat: claim the cases whose next escalation step is due and take the steps (one bounded batch,
    ESCALATION_BATCH_SIZE)."""
    return sweep(now=timezone.now())


@shared_task(name="notices.sweep_orders", acks_late=True)
def sweep_orders_task() -> int:
    """Beat: record the removal orders whose legal clock ran out (breaches alert the analysts at once)."""
    return sweep_orders(now=timezone.now())


@shared_task(name="notices.purge_limit_records", acks_late=True)
def purge_limit_records() -> int:
    """Beat: delete sign-in attempts no limit looks at any more and API counters of ended windows."""
    now = timezone.now()
    attempts = signin.purge(now=now)
    counters = ratelimit.purge(now=now.timestamp())
    logger.info("purged %d sign-in attempts and %d API counters", attempts, counters)
    return attempts + counters


def _countdown(base: int, attempt: int) -> float:
    """Exponential backoff for a broker retry, at most `enqueue.MAX_COUNTDOWN` ahead (a long-delayed
    message may be redelivered early or dropped by the broker)."""
    return min(backoff(base, attempt).total_seconds(), enqueue.MAX_COUNTDOWN)


@shared_task(name="notices.send_alert_digest", bind=True, acks_late=True)
def send_alert_digest_task(self) -> str:
    """Beat, daily: mail the analysts the digest of the alert queue; SMTP errors retry with backoff as an
    alert does."""
    try:
        outcome = send_digest(now=timezone.now())
    except (smtplib.SMTPException, OSError) as exc:
        raise self.retry(
            exc=exc,
            countdown=_countdown(settings.ANALYST_ALERT_RETRY_BASE, self.request.retries + 1),
            max_retries=settings.ANALYST_ALERT_MAX_RETRIES,
        ) from exc
    logger.info("alert digest: %s", outcome)
    return outcome


@shared_task(name="notices.send_analyst_alert", bind=True, acks_late=True)
def send_analyst_alert_task(self, event_id: int) -> str:
    """Mail one analyst alert; SMTP errors retry with backoff (ANALYST_ALERT_RETRY_BASE × 2ⁿ, at most
    ANALYST_ALERT_MAX_RETRIES times). The event on the timeline stands either way."""
    try:
        outcome = send_alert(event_id=event_id, now=timezone.now())
    except (smtplib.SMTPException, OSError) as exc:
        retries = self.request.retries
        logger.warning("analyst alert %s: %s (retry %d)", event_id, exc, retries + 1)
        raise self.retry(
            exc=exc,
            countdown=_countdown(settings.ANALYST_ALERT_RETRY_BASE, retries + 1),
            max_retries=settings.ANALYST_ALERT_MAX_RETRIES,
        ) from exc
    logger.info("analyst alert %s: %s", event_id, outcome)
    return outcome


@shared_task(name="notices.purge_retention", acks_late=True)
def purge_retention() -> int:
    """Beat (daily): remove the URLs of cases whose retention period is over, keeping the statistics
    (services/retention.py), unless a supervisor turned the scheduled purge off in the retention settings."""
    if not RetentionPolicy.current().purge_enabled:
        logger.info("retention purge: turned off in the retention settings")
        return 0
    report = purge(now=timezone.now())
    logger.info("retention purge: %s", report.describe())
    return report.counts["urls"]


@shared_task(name="notices.maintain_check_partitions", acks_late=True)
def maintain_check_partitions() -> dict:
    """Beat: make the check table's partitions of this month and CHECK_PARTITIONS_AHEAD months ahead; drop
    whole months older than CHECK_RETENTION_MONTHS (never a row-by-row DELETE). Claims are not needed: the
    partition changes serialise on an advisory lock and each is done once (a second beat finds it done)."""
    now = timezone.now()
    made = partitions.ensure_ahead(now, settings.CHECK_PARTITIONS_AHEAD)
    dropped = partitions.drop_expired(now, settings.CHECK_RETENTION_MONTHS)
    logger.info("check partitions: made %s, dropped %s", made or "none", dropped or "none")
    return {"made": made, "dropped": dropped}
