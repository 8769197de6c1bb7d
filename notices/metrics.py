"""`/metrics` for Prometheus (README "Metrics"), and the middleware that counts requests by route.

Counters and histograms (requests, latency, checks by outcome) are written by every process to the
multiprocess directory and summed here (notices/infra/metrics.py). The deployment's state — outbox backlog
and the age of its oldest unsent message, expired claims, due-check and escalation lag, escalation steps,
import runs, failing contacts, snapshot age, broker queue depths — is read at scrape time from the database
and the broker, so every web process answers the same.

Guarded: a bearer token (METRICS_TOKEN) or a client address in METRICS_ALLOWED_NETWORKS; 403 to anyone else,
and 404 when neither is configured (metrics are off).
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from notices.infra import enqueue
from notices.infra import metrics as process_metrics
from notices.selectors import operations
from tracker import queues

UNMATCHED = "<unmatched>"


class RequestMetrics:
    """Counts every request and times it, labelled by the URL pattern it matched (never the path itself:
    paths carry ids and tokens), its method and status class."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = "/" + match.route if match is not None and match.route else UNMATCHED
        method = (
            request.method if request.method in {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"} else "other"
        )
        process_metrics.REQUESTS.labels(route, method, f"{response.status_code // 100}xx").inc()
        process_metrics.LATENCY.labels(route, method).observe(time.perf_counter() - started)
        return response


class StateCollector:
    """Gauges (and database-kept totals) read when Prometheus scrapes."""

    def collect(self) -> Iterator:
        ops = operations.read(timezone.now())
        yield _gauge(
            "notices_outbox_backlog", "Outbox messages not yet sent (pending or sending).", ops.outbox_backlog
        )
        yield _gauge(
            "notices_outbox_oldest_unsent_age_seconds",
            "Age of the oldest outbox message not yet sent.",
            ops.outbox_oldest_unsent_age,
        )
        yield _gauge(
            "notices_outbox_failed_last_day",
            "Outbox messages given up within a day.",
            ops.outbox_failed_recent,
        )
        yield _gauge("notices_webhook_backlog", "Webhook deliveries not yet delivered.", ops.webhook_backlog)
        claims = GaugeMetricFamily(
            "notices_claims_expired",
            "Claims past their time (a worker died or gave up), by queue.",
            labels=["queue"],
        )
        for queue, count in sorted(ops.claims_expired.items()):
            claims.add_metric([queue], count)
        yield claims
        yield _gauge("notices_due_checks", "URLs whose check is due now.", ops.due_checks)
        yield _gauge(
            "notices_due_check_lag_seconds", "How long the oldest due check has waited.", ops.due_check_lag
        )
        yield _gauge(
            "notices_due_escalations", "Cases whose next escalation step is due.", ops.due_escalations
        )
        yield _gauge(
            "notices_escalation_lag_seconds", "How long the oldest due step has waited.", ops.escalation_lag
        )
        runs = CounterMetricFamily(
            "notices_import_runs",
            "Registry import runs, by dataset and status.",
            labels=["dataset", "status"],
        )
        for (dataset, status), count in sorted(ops.import_runs.items()):
            runs.add_metric([dataset, status], count)
        yield runs
        age = GaugeMetricFamily(
            "notices_registry_data_age_seconds",
            "Age of each dataset's active registry data.",
            labels=["dataset"],
        )
        for dataset, seconds in sorted(ops.registry_age.items()):
            age.add_metric([dataset], seconds)
        yield age
        yield _gauge(
            "notices_failing_contacts",
            "Provider contacts marked failing.",
            operations.failing_contact_count(),
        )
        if ops.snapshot_age is not None:
            yield _gauge(
                "notices_stats_snapshot_age_seconds",
                "Age of the newest statistics snapshot.",
                ops.snapshot_age,
            )
        yield _gauge("notices_check_partitions", "Partitions of the check table.", ops.partition_count)
        yield _gauge(
            "notices_check_partitions_missing",
            "This or next month's check partition missing.",
            len(ops.partitions_missing),
        )
        yield _gauge(
            "notices_check_default_partition_rows",
            "Checks in the default partition.",
            ops.default_partition_rows,
        )
        depths = GaugeMetricFamily(
            "notices_queue_depth",
            "Messages waiting in each Celery queue (-1: broker unreachable).",
            labels=["queue"],
        )
        named = enqueue.queue_depths([queues.named(q) for q in queues.QUEUES])
        for queue, depth in zip(queues.QUEUES, named.values(), strict=True):
            depths.add_metric([queue], -1 if depth is None else depth)
        yield depths


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def allowed(request: HttpRequest) -> bool:
    """Whether this request may read the metrics (Http404 when metrics are off)."""
    token, networks = settings.METRICS_TOKEN, settings.METRICS_ALLOWED_NETWORKS
    if not token and not networks:
        raise Http404("metrics are off")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(network, strict=False) for network in networks)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        return HttpResponse("Forbidden: a metrics token or an allowed network is needed.\n", status=403)
    registry = CollectorRegistry()
    directory = process_metrics.multiprocess_dir()
    if directory:
        MultiProcessCollector(registry, path=directory)
    else:
        for collector in process_metrics.COLLECTORS:
            registry.register(collector)
    registry.register(StateCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
