"""What each kind of step does for a batch of runs: the actions of the escalation ladder.

Every performer takes the runs of one action (`Work`: the run, its notice, the URLs still up) and returns an
`Outcome` per run, without raising for what a case can run into (no working contact, no upstream network, a
partner without a hand-off address): those are failures the sweep records and retries, or steps that do not
apply to the case (skipped, in words). Deliveries go through the outbox (mails: claimed, retried, never sent
twice) or, for API-only providers, through their channel: the repeat is made available in the portal and the
provider API at once (its "made available" time is the run's delivery time) and offered to the provider's
webhook.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings

from notices.delivery.compose import MailItem
from notices.delivery.escalation import cdn_mail, handoff_mail, registrar_mail, repeat_mails, upstream_mail
from notices.delivery.items import load_urls
from notices.delivery.outbox import EscalationMail, abuse_recipients, enqueue_escalation_mails
from notices.enums import AlertKind, ContactChannel, ReferralAuthority, StepAction, StepRunStatus
from notices.hosting.rdap import lookup_domain, registrable_domain
from notices.hosting.upstream import Upstream, upstreams
from notices.models import (
    EU_COUNTRIES,
    HostingProvider,
    Notice,
    Partner,
    Referral,
    Url,
    WebhookDelivery,
    WebhookEndpoint,
)
from notices.selectors.ladder import Rung
from notices.selectors.routing import handoff_partner
from notices.services.alerts import raise_alert
from notices.services.routing import hosting_country


@dataclass
class Work:
    """One run to perform: its id, rung and occurrence, its notice (provider loaded) and the URLs still up."""

    run_id: int
    rung: Rung
    occurrence: int
    notice: Notice
    url_ids: list[int]


@dataclass
class Outcome:
    """What a run came to: queued (the outbox delivers it), done (delivered, made available or recorded),
    skipped (not applicable) or retrying (failed: `error`). `text` says it in words for the timeline."""

    status: str
    text: str
    target: str = ""
    error: str = ""
    delivered: bool = False
    detail: dict = field(default_factory=dict)


def failed(text: str, error: str) -> Outcome:
    return Outcome(StepRunStatus.RETRYING, text, error=error)


NAMES = {
    StepAction.REPEAT_NOTICE: "repeat notice",
    StepAction.ANALYST_ALERT: "analyst alert",
    StepAction.UPSTREAM_NOTICE: "notice to the upstream network",
    StepAction.PARTNER_HANDOFF: "hand-off to the partner hotline",
    StepAction.REFER_LAW_ENFORCEMENT: "referral to law enforcement",
    StepAction.REFER_DSC: "referral to the Digital Services Coordinator",
    StepAction.REGISTRAR_NOTICE: "notice to the registrar",
    StepAction.CDN_NOTICE: "notice to the CDN",
}


def step_name(action: str, occurrence: int, *, repeated: bool, reference: str) -> str:
    """A step in words, opening a sentence: "Repeat notice 2 of TN-2026-000123" (numbered when the step
    repeats)."""
    text = f"{NAMES[action]}{f' {occurrence}' if repeated else ''} of {reference}"
    return text[:1].upper() + text[1:]


def sentence(work: Work) -> str:
    return step_name(
        work.rung.action,
        work.occurrence,
        repeated=work.rung.repeat_every is not None,
        reference=work.notice.reference,
    )


def perform(works: list[Work], *, now: datetime) -> dict[int, Outcome]:
    """Every run's outcome, by run id: each action's performer takes its runs at once."""
    by_action: dict[str, list[Work]] = defaultdict(list)
    for work in works:
        by_action[work.rung.action].append(work)
    outcomes: dict[int, Outcome] = {}
    for action, batch in by_action.items():
        outcomes |= PERFORMERS[action](batch, now=now)
    return outcomes


def _items(works: list[Work]) -> dict[int, MailItem]:
    """The URLs of these runs as mails read them (assessment, trace, provider), in one query."""
    loaded = load_urls({url_id for work in works for url_id in work.url_ids})
    return {url_id: MailItem(url_id, url) for url_id, url in loaded.items()}


# --- Repeat notice ------------------------------------------------------------------------------------------


def repeat_notice(works: list[Work], *, now: datetime) -> dict[int, Outcome]:
    """The notice again, naming the URLs still up: by mail (outbox) to the provider's working abuse contacts,
    or made available to an API-only provider (portal, API, webhook)."""
    by_mail = [w for w in works if w.notice.provider.channel == ContactChannel.EMAIL]
    outcomes = _made_available(  # an abuse API channel's report stands: a repeat would file a second one
        [w for w in works if w.notice.provider.channel != ContactChannel.EMAIL], now
    )
    recipients = abuse_recipients({w.notice.provider_id for w in by_mail})
    ready = []
    for work in by_mail:
        if work.notice.provider_id in recipients:
            ready.append(work)
        else:
            error = f"{work.notice.provider} has no working abuse contact"
            outcomes[work.run_id] = failed(f"{sentence(work)} failed: {error}.", error)
    items = _items(ready)
    mails = []
    while ready:  # a notice with two repeats due at once (a reminder before the deadline, a repeat) renders
        batch, ready = _one_per_notice(ready)  # in two rounds
        rendered = repeat_mails(
            [w.notice for w in batch],
            occurrences={w.notice.pk: w.occurrence for w in batch},
            items={w.notice.pk: [items[pk] for pk in w.url_ids] for w in batch},
            recipients=recipients,
            now=now,
        )
        for work, mail in zip(batch, rendered, strict=True):
            mails.append(EscalationMail(work.notice, mail, work.run_id, work.url_ids))
            to = ", ".join(mail.recipients)
            outcomes[work.run_id] = Outcome(
                StepRunStatus.QUEUED,
                f"{sentence(work)} queued in the outbox for {to} "
                f"({len(work.url_ids)} URL{'s' if len(work.url_ids) != 1 else ''} still up).",
                target=to,
            )
    enqueue_escalation_mails(mails, now=now)
    return outcomes


def _one_per_notice(works: list[Work]) -> tuple[list[Work], list[Work]]:
    seen, batch, rest = set(), [], []
    for work in works:
        (rest if work.notice.pk in seen else batch).append(work)
        seen.add(work.notice.pk)
    return batch, rest


def _made_available(works: list[Work], now: datetime) -> dict[int, Outcome]:
    """API-only providers: the repeat is in the portal and the provider API from now on (the run, listed
    under the notice's `reminders`); a provider with a webhook is also offered it (`notice.reminder`)."""
    if not works:
        return {}
    endpoints = dict(
        WebhookEndpoint.objects.filter(provider_id__in={w.notice.provider_id for w in works}, is_active=True)
        .order_by("pk")
        .values_list("provider_id", "pk")
    )
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            endpoint_id=endpoints[w.notice.provider_id],
            notice_id=w.notice.pk,
            run_id=w.run_id,
            next_attempt_at=now,
            created_at=now,
        )
        for w in works
        if w.notice.provider_id in endpoints
    )
    return {
        w.run_id: Outcome(
            StepRunStatus.DONE,
            f"{sentence(w)} made available in the portal and the provider API"
            + (" and offered to the provider's webhook." if w.notice.provider_id in endpoints else "."),
            target="portal and provider API" + (" + webhook" if w.notice.provider_id in endpoints else ""),
            delivered=True,
        )
        for w in works
    }


# --- Notice to the upstream network -------------------------------------------------------------------------


def upstream_notice(works: list[Work], *, now: datetime) -> dict[int, Outcome]:
    """A mail to the network above the provider (its parent network, allocation holder or transit, as the
    trace found them: `notices.hosting.upstream`), one per upstream the run's URLs have, in the upstream's
    language when it is a provider we know."""
    items = _items(works)
    traces = {
        url.pk: url.current_trace
        for url in Url.objects.filter(pk__in=list(items)).select_related("current_trace__provider")
    }
    outcomes, mails = {}, []
    for work in works:
        chosen: dict[tuple[str, ...], tuple[Upstream, list[int]]] = {}
        candidates: list[Upstream] = []
        for url_id in work.url_ids:
            found = upstreams(traces[url_id]) if traces.get(url_id) is not None else []
            candidates += found
            usable = next((u for u in found if u.emails), None)
            if usable is not None:
                chosen.setdefault(tuple(usable.emails), (usable, []))[1].append(url_id)
        outcomes[work.run_id] = _upstream_outcome(work, chosen, candidates)
        for upstream, url_ids in chosen.values():
            mail = upstream_mail(
                work.notice,
                name=upstream.name,
                via=upstream.via,
                language=upstream.language,
                items=[items[pk] for pk in url_ids],
                emails=upstream.emails,
                now=now,
            )
            mails.append(EscalationMail(work.notice, mail, work.run_id, url_ids))
    enqueue_escalation_mails(mails, now=now)
    return outcomes


def _upstream_outcome(work: Work, chosen: dict, candidates: list[Upstream]) -> Outcome:
    if chosen:
        targets = "; ".join(f"{u.name} ({u.via}) at {', '.join(u.emails)}" for u, _ids in chosen.values())
        return Outcome(StepRunStatus.QUEUED, f"{sentence(work)} queued for {targets}.", target=targets)
    if not candidates:
        return Outcome(
            StepRunStatus.SKIPPED,
            f"{sentence(work)} not applicable: the trace found no network above {work.notice.provider}.",
        )
    names = ", ".join(dict.fromkeys(f"{u.name} ({u.via})" for u in candidates))
    error = f"no abuse contact for the upstream network: {names}"
    return failed(f"{sentence(work)} failed: {error}.", error)


# --- Hand-off to the partner hotline ------------------------------------------------------------------------


def partner_handoff(works: list[Work], *, now: datetime) -> dict[int, Outcome]:
    """A hand-off mail to the partner hotline of the content's current hosting country, at the partner's
    hand-off address. The country is each URL's own, as routing reads it now (`hosting_country`: its current
    trace's, else its provider's): a case whose content moved to another country within its provider goes to
    that country's hotline, and a run whose URLs are hosted in several countries hands each group to its own
    hotline (one mail each)."""
    items = _items(works)
    partners: dict[str, Partner | None] = {}
    outcomes, mails = {}, []
    for work in works:
        by_country: dict[str, list[int]] = {}
        for pk in work.url_ids:
            by_country.setdefault(hosting_country(items[pk].url), []).append(pk)
        queued, missing, why = [], [], []
        for country, url_ids in by_country.items():
            if country not in partners:
                foreign = country and country != settings.HOTLINE_COUNTRY
                partners[country] = handoff_partner(country) if foreign else None
            partner = partners[country]
            if partner is None:
                why.append(_no_partner(country))
            elif not partner.handoff_email:
                missing.append(f"the partner hotline {partner} has no hand-off address")
            else:
                mail = handoff_mail(
                    work.notice,
                    partner=partner,
                    country=country,
                    items=[items[pk] for pk in url_ids],
                    now=now,
                )
                mails.append(EscalationMail(work.notice, mail, work.run_id, url_ids))
                queued.append((partner, country))
        outcomes[work.run_id] = _handoff_outcome(work, queued, missing, why)
    enqueue_escalation_mails(mails, now=now)
    return outcomes


def _no_partner(country: str) -> str:
    if not country:
        return "its country is unknown"
    if country == settings.HOTLINE_COUNTRY:
        return "the content is hosted in the hotline's own country"
    return f"no partner hotline takes hand-offs for {country}"


def _handoff_outcome(
    work: Work, queued: list[tuple[Partner, str]], missing: list[str], why: list[str]
) -> Outcome:
    if queued:
        target = "; ".join(f"{partner} ({country}) at {partner.handoff_email}" for partner, country in queued)
        rest = "; ".join(missing + why)
        detail = (
            {"partner": queued[0][0].pk} if len(queued) == 1 else {"partners": [p.pk for p, _c in queued]}
        )
        return Outcome(
            StepRunStatus.QUEUED,
            f"{sentence(work)} queued for {target}." + (f" Not handed off: {rest}." if rest else ""),
            target=target,
            detail=detail,
        )
    if missing:
        error = "; ".join(missing)
        return failed(f"{sentence(work)} failed: {error}.", error)
    return Outcome(StepRunStatus.SKIPPED, f"{sentence(work)} not applicable: {'; '.join(why)}.")


# --- Analyst alert ------------------------------------------------------------------------------------------


def analyst_alert(works: list[Work], *, now: datetime) -> dict[int, Outcome]:
    """The case goes to the analysts' alert queue (and a mail to them): still up this long after the
    notice."""
    outcomes = {}
    for work in works:
        hours = int((now - work.notice.sent_at).total_seconds() // 3600)
        count = len(work.url_ids)
        summary = (
            f"{count} URL{'s' if count != 1 else ''} of notice {work.notice.reference} to "
            f"{work.notice.provider} still up {hours} h after the notice."
        )
        alert = raise_alert(
            kind=AlertKind.OVERDUE,
            key=f"overdue:{work.run_id}",
            summary=summary,
            now=now,
            notice=work.notice,
            mail=True,
        )
        outcomes[work.run_id] = Outcome(
            StepRunStatus.DONE,
            f"Analysts alerted: {summary}",
            target="the analysts' alert queue",
            delivered=True,
            detail={"alert": alert.pk if alert else None},
        )
    return outcomes


# --- Referral records ---------------------------------------------------------------------------------------


def _referrals(authority: str) -> Callable[..., dict[int, Outcome]]:
    def refer(works: list[Work], *, now: datetime) -> dict[int, Outcome]:
        """A referral record per run (for the authority's export), or skipped where it has no say."""
        outcomes = {}
        for work in works:
            country = _authority_country(authority, work.notice)
            if not country:
                outcomes[work.run_id] = Outcome(
                    StepRunStatus.SKIPPED,
                    f"{sentence(work)} not applicable: {work.notice.provider} is not established "
                    "in an EU member state, so no Digital Services Coordinator has a say.",
                )
                continue
            referral = Referral.objects.create(
                run_id=work.run_id,
                authority=authority,
                country=country,
                notice=work.notice,
                provider_id=work.notice.provider_id,
                created_at=now,
            )
            referral.urls.set(work.url_ids)
            who = f"{ReferralAuthority(authority).label} ({country})"
            outcomes[work.run_id] = Outcome(
                StepRunStatus.DONE,
                f"{sentence(work)}: referral #{referral.pk} to {who} recorded for the next export.",
                target=who,
                delivered=True,
                detail={"referral": referral.pk},
            )
        return outcomes

    return refer


def _authority_country(authority: str, notice: Notice) -> str:
    """Law enforcement: the hotline's country's. The DSC: the provider's member state (none outside the
    EU)."""
    if authority == ReferralAuthority.LAW_ENFORCEMENT:
        return settings.HOTLINE_COUNTRY
    return notice.provider.country if notice.provider.country in EU_COUNTRIES else ""


# --- Notice to the registrar of the domain ------------------------------------------------------------------


def registrar_notice(works: list[Work], *, now: datetime) -> dict[int, Outcome]:
    """A mail to the registrar of each domain the run's URLs are under (found by an RDAP domain lookup
    against RDAP_DOMAIN_URL: `notices.hosting.rdap.lookup_domain`), naming that domain's URLs, in the
    registrar's language (`_registrar_language`)."""
    items = _items(works)
    answers: dict[str, dict] = {}
    outcomes, mails = {}, []
    for work in works:
        by_domain: dict[str, list[int]] = {}
        for url_id in work.url_ids:
            by_domain.setdefault(registrable_domain(items[url_id].url.host), []).append(url_id)
        reached, problems = [], []
        for domain, url_ids in by_domain.items():
            answer = answers.setdefault(domain, lookup_domain(domain))
            if answer.get("error") or not answer.get("abuse_emails"):
                problems.append(f"{domain}: {answer.get('error') or 'the registrar has no e-mail address'}")
                continue
            mail = registrar_mail(
                work.notice,
                registrar=answer["registrar"],
                domain=domain,
                items=[items[pk] for pk in url_ids],
                emails=answer["abuse_emails"],
                now=now,
                language=_registrar_language(answer),
            )
            mails.append(EscalationMail(work.notice, mail, work.run_id, url_ids))
            reached.append(f"{answer['registrar']} for {domain} at {', '.join(answer['abuse_emails'])}")
        if reached:
            target = "; ".join(reached)
            note = f" (not reached: {'; '.join(problems)})" if problems else ""
            outcomes[work.run_id] = Outcome(
                StepRunStatus.QUEUED, f"{sentence(work)} queued for {target}{note}.", target=target
            )
        else:
            error = "; ".join(problems)
            outcomes[work.run_id] = failed(f"{sentence(work)} failed: {error}.", error)
    enqueue_escalation_mails(mails, now=now)
    return outcomes


def _registrar_language(answer: dict) -> str:
    """The registrar's language: a provider we know at the registrar's abuse address (its language, as its
    notices are written in), else what the RDAP answer tells (`lookup_domain`), else English."""
    known = (
        HostingProvider.objects.filter(contacts__email__in=answer["abuse_emails"])
        .order_by("pk")
        .values_list("language", flat=True)
        .first()
    )
    return known or answer.get("language") or "en"


# --- Notice to the CDN in front of the content --------------------------------------------------------------


def cdn_notice(works: list[Work], *, now: datetime) -> dict[int, Outcome]:
    """A mail to the CDN (or reverse proxy) the trace found in front of the content, asking for the origin;
    not applicable where the trace saw none."""
    items = _items(works)
    traces = {
        url.pk: url.current_trace
        for url in Url.objects.filter(pk__in=list(items)).select_related("current_trace__intermediary")
    }
    outcomes, mails = {}, []
    for work in works:
        by_cdn: dict[int, tuple] = {}
        for url_id in work.url_ids:
            trace = traces.get(url_id)
            if trace is not None and trace.intermediary is not None:
                by_cdn.setdefault(trace.intermediary_id, (trace.intermediary, []))[1].append(url_id)
        if not by_cdn:
            outcomes[work.run_id] = Outcome(
                StepRunStatus.SKIPPED,
                f"{sentence(work)} not applicable: the trace found no CDN in front of it.",
            )
            continue
        contacts = abuse_recipients(list(by_cdn))
        reached, missing = [], []
        for cdn_id, (cdn, url_ids) in by_cdn.items():
            if cdn_id not in contacts:
                missing.append(str(cdn))
                continue
            mail = cdn_mail(
                work.notice, cdn=cdn, items=[items[pk] for pk in url_ids], emails=contacts[cdn_id], now=now
            )
            mails.append(EscalationMail(work.notice, mail, work.run_id, url_ids))
            reached.append(f"{cdn} at {', '.join(contacts[cdn_id])}")
        if reached:
            target = "; ".join(reached)
            outcomes[work.run_id] = Outcome(
                StepRunStatus.QUEUED, f"{sentence(work)} queued for {target}.", target=target
            )
        else:
            error = f"no working abuse contact for the CDN: {', '.join(missing)}"
            outcomes[work.run_id] = failed(f"{sentence(work)} failed: {error}.", error)
    enqueue_escalation_mails(mails, now=now)
    return outcomes


PERFORMERS: dict[str, Callable[..., dict[int, Outcome]]] = {
    StepAction.REPEAT_NOTICE: repeat_notice,
    StepAction.UPSTREAM_NOTICE: upstream_notice,
    StepAction.PARTNER_HANDOFF: partner_handoff,
    StepAction.ANALYST_ALERT: analyst_alert,
    StepAction.REFER_LAW_ENFORCEMENT: _referrals(ReferralAuthority.LAW_ENFORCEMENT),
    StepAction.REFER_DSC: _referrals(ReferralAuthority.DSC),
    StepAction.REGISTRAR_NOTICE: registrar_notice,
    StepAction.CDN_NOTICE: cdn_notice,
}
