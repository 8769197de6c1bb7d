"""What the outbox and the webhooks report about the deliveries of escalation steps: recorded on the step's
run and, in words, on each case's timeline.

- sent: the mail server accepted the mail (`url.escalation_delivered`); a run is done once all its mails are;
- called off before sending (`unwanted`): none of the mail's URLs is still up — the removal came between the
  step and the delivery — or its notice was withdrawn or closed, so the step is cancelled
  (`url.escalation_cancelled`);
- deferred: the outbox tries again with its own backoff (`url.escalation_retry`);
- given up (a permanent refusal, or the outbox's attempts used up): the step failed — it is taken again with
  the ladder's backoff (the cases are due at the retry; a retry sends only to the URLs no mail of the run
  reached), and the analysts are alerted at the run's first failure (`url.escalation_failed`);
- an API-only provider's webhook took a repeat (`url.escalation_delivered`).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import F, Value
from django.db.models.functions import Coalesce, Least

from notices.delivery.outbox import Attempt
from notices.enums import AlertKind, OutboxStatus, StepRunStatus, UrlStatus
from notices.infra.events import new_event, record_events
from notices.models import Escalation, OutgoingMessage, StepRun, Url, WebhookDelivery
from notices.selectors.escalation import FOLLOWED_NOTICE_STATES
from notices.services.alerts import raise_alert
from notices.services.escalation.steps import step_name
from notices.services.escalation.sweep import retry_wait

OPEN_MESSAGES = (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.FAILED)


def unwanted(message: OutgoingMessage) -> bool:
    """An escalation mail none of whose URLs is still up and noticed (the removal came first, or the case
    was closed), or whose notice is no longer open (withdrawn, closed)."""
    if message.run_id is None:
        return False
    if message.notice.status not in FOLLOWED_NOTICE_STATES:
        return True
    return not Url.objects.filter(pk__in=message.url_ids, status=UrlStatus.NOTIFIED).exists()


def describe(run: StepRun) -> str:
    """The run in words, as the sweep names it: "Repeat notice 2 of TN-2026-000123"."""
    repeated = run.occurrence > 1 or (run.step is not None and run.step.repeat_every is not None)
    return step_name(run.action, run.occurrence, repeated=repeated, reference=run.notice.reference)


def record_delivery(attempt: Attempt) -> None:
    """Apply one delivery attempt of an escalation mail to its run and its cases (caller holds the
    transaction; see the module docstring)."""
    message, at = attempt.message, attempt.at
    # Only the run's row: locking its notice too would hold up every sweep that writes a row naming it.
    run = (
        StepRun.objects.select_for_update(of=("self",))
        .select_related("notice", "step")
        .get(pk=message.run_id)
    )
    others = run.messages.exclude(pk=message.pk)
    words, to = describe(run), ", ".join(message.recipients)
    if attempt.status == OutboxStatus.SENT:
        kind, text = "url.escalation_delivered", f"{words} accepted by the mail server for {to}."
        if run.status == StepRunStatus.QUEUED and not others.filter(status__in=OPEN_MESSAGES).exists():
            run.status, run.delivered_at = StepRunStatus.DONE, at
    elif attempt.status == OutboxStatus.CANCELLED:
        kind, text = "url.escalation_cancelled", f"{words} called off before sending: the content is gone."
        if run.status == StepRunStatus.QUEUED and not others.exclude(status=OutboxStatus.CANCELLED).exists():
            run.status = StepRunStatus.CANCELLED
    elif attempt.status == OutboxStatus.PENDING:
        kind = "url.escalation_retry"
        text = (
            f"{words}: the mail server did not take it yet ({attempt.error[:200]}); the outbox tries again."
        )
    else:
        kind, text = "url.escalation_failed", _failed(run, attempt, words, at)
    run.save(update_fields=["status", "delivered_at", "attempts", "next_attempt_at", "last_error"])
    _events(kind, message.url_ids, run, text, at)


def _failed(run: StepRun, attempt: Attempt, words: str, at: datetime) -> str:
    """The step failed after all: retried with the ladder's backoff; its cases are due then."""
    run.status, run.attempts = StepRunStatus.RETRYING, run.attempts + 1
    run.next_attempt_at, run.last_error = at + retry_wait(run.attempts), attempt.error[:2000]
    retry = run.next_attempt_at
    cases = Url.objects.filter(
        pk__in=Escalation.objects.filter(run=run).values("url_id"), status=UrlStatus.NOTIFIED
    )
    cases.update(next_escalation_at=Least(Coalesce(F("next_escalation_at"), Value(retry)), Value(retry)))
    text = (
        f"{words} could not be delivered to {', '.join(attempt.message.recipients)} ({attempt.error[:300]}); "
        f"the step is taken again at {retry:%Y-%m-%d %H:%M:%S} UTC."
    )
    raise_alert(
        kind=AlertKind.STEP_FAILED,
        key=f"{AlertKind.STEP_FAILED}:{run.pk}",
        summary=text,
        now=at,
        notice=run.notice,
        error=attempt.error,
        mail=True,
    )
    return text


def record_webhook(delivery: WebhookDelivery, *, at: datetime) -> None:
    """An API-only provider's webhook took a repeat of the notice."""
    run = StepRun.objects.select_related("notice", "step").get(pk=delivery.run_id)
    url_ids = list(Escalation.objects.filter(run=run).values_list("url_id", flat=True))
    _events(
        "url.escalation_delivered", url_ids, run, f"{describe(run)} delivered to the provider's webhook.", at
    )


def _events(kind: str, url_ids: list[int], run: StepRun, text: str, at: datetime) -> None:
    data = {"run": run.pk, "action": run.action, "occurrence": run.occurrence, "text": text}
    record_events([new_event(kind, at=at, url=Url(pk=pk), notice=run.notice, data=data) for pk in url_ids])
