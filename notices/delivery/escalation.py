"""Composing the mails escalation steps send: a repeat of the notice to the provider, a notice to the upstream
network, a hand-off to a partner hotline. Each is a `NoticeMail` under the notice's reference (replies and
bounces find the notice) naming only the URLs still up; the outbox completes it with their X-ARF reports and
CSV at its first delivery attempt, as it does a notice.

Providers, upstream networks, registrars and CDNs read them in their language (en, de, nl, fr: the files
notices/mail/escalation/<kind>.<language>.txt, English where a language has none); times are given in the
provider's time zone. A repeat is the notice itself (as its template renders it, for the URLs still up)
under a paragraph saying which reminder it is and where the deadline stands. Hand-offs go hotline to hotline,
in the partner's language (English when its record names none): after a notice (the ladder's step,
`handoff`) or before any (routing, `handoff_case`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from django.template.loader import get_template, select_template
from django.utils import timezone, translation

from notices.canonical import defang
from notices.delivery.compose import MailItem, NoticeMail, render_notice_mails, shared_context
from notices.delivery.mail import message_id
from notices.models import Notice, Partner

TEMPLATES = "notices/mail/escalation"


def _render(kind: str, language: str, context: dict) -> tuple[str, str]:
    """(subject, text) of an escalation mail in `language` (English where it has no file), times in the
    provider's time zone."""
    names = [f"{TEMPLATES}/{kind}.{language}", f"{TEMPLATES}/{kind}.en"]
    with translation.override(language), timezone.override(ZoneInfo(context["time_zone"])):
        subject = select_template([f"{name}.subject.txt" for name in names]).render(context)
        text = select_template([f"{name}.txt" for name in names]).render(context)
    return " ".join(subject.split()), text


def _html(notice: Notice, text: str) -> str:
    return get_template("notices/mail/notice.html").render({"notice": notice, "text": text})


def _local(notice: Notice, at: datetime | None) -> datetime | None:
    return at.astimezone(ZoneInfo(notice.provider.time_zone or "UTC")) if at else None


def _case_context(notice: Notice, items: Sequence[MailItem], now: datetime) -> dict:
    """What every escalation mail says about the case: the notice, when it went out and its deadline (in the
    provider's time zone), how long the content has been up since, the URLs defanged."""
    hours = int((now - notice.sent_at).total_seconds() // 3600) if notice.sent_at else 0
    return {
        **shared_context(now),
        "notice": notice,
        "provider": notice.provider,
        "time_zone": notice.provider.time_zone or "UTC",
        "sent_local": _local(notice, notice.sent_at),
        "deadline_local": _local(notice, notice.deadline_at),
        "now_local": _local(notice, now),
        "hours_up": hours,
        "days_up": hours // 24,
        "items": [{"n": n, "defanged": defang(item.url.canonical)} for n, item in enumerate(items, 1)],
    }


def repeat_mails(
    notices: Sequence[Notice],
    *,
    occurrences: dict[int, int],
    items: dict[int, list[MailItem]],
    recipients: dict[int, list[str]],
    now: datetime,
) -> list[NoticeMail]:
    """The repeats of these notices (`occurrences` and `items`, the URLs still up, per notice id): the notice
    as its template renders it, under the reminder's paragraph; "Reminder N:" before its subject."""
    mails = render_notice_mails(notices, now=now, recipients=recipients, items=items)
    for notice, mail in zip(notices, mails, strict=True):
        context = {
            **_case_context(notice, items[notice.pk], now),
            "occurrence": occurrences[notice.pk],
            "before_deadline": notice.deadline_at is not None and now < notice.deadline_at,
        }
        prefix, intro = _render("repeat", notice.language, context)
        mail.subject = f"{prefix} {mail.subject}"
        mail.text = f"{intro.rstrip()}\n\n{mail.text}"
        mail.html = _html(notice, mail.text)
    return mails


def upstream_mail(
    notice: Notice,
    *,
    name: str,
    via: str,
    language: str,
    items: list[MailItem],
    emails: list[str],
    now: datetime,
) -> NoticeMail:
    """The notice to an upstream network (`name`, found as `via`): its customer was told and did not act."""
    trace = items[0].url.current_trace if items else None
    context = {
        **_case_context(notice, items, now),
        "upstream_name": name,
        "via": via,
        "asn": trace.asn if trace is not None else None,
        "ip": trace.ip if trace is not None else None,
    }
    subject, text = _render("upstream", language, context)
    return _mail(notice, subject, text, emails, now)


def handoff_mail(notice: Notice, *, partner: Partner, country: str, items: list[MailItem], now: datetime):
    """The hand-off of a case to the partner hotline of the hosting country, at the partner's hand-off
    address, in the partner's language (English when it is not known)."""
    context = {**_case_context(notice, items, now), "partner": partner, "country": country}
    subject, text = _render("handoff", partner.language or "en", context)
    return _mail(notice, subject, text, [partner.handoff_email], now)


def handoff_case_mail(urls: Sequence, *, partner: Partner, country: str, now: datetime) -> NoticeMail:
    """The hand-off of cases before any notice (routing: hosted in a partner hotline's country), at the
    partner's hand-off address, in its language; the outbox adds the CSV of their exact URLs."""
    provider = urls[0].provider if urls else None
    context = {
        **shared_context(now),
        "partner": partner,
        "country": country,
        "provider": provider,
        "time_zone": "UTC",
        "case_ids": ", ".join(str(url.pk) for url in urls),
        "items": [{"n": n, "defanged": defang(url.canonical)} for n, url in enumerate(urls, 1)],
    }
    subject, text = _render("handoff_case", partner.language or "en", context)
    reference = f"handoff-{urls[0].pk}"
    return NoticeMail(
        message_id=message_id(f"{reference}-{int(now.timestamp())}"),
        reference=reference,
        subject=subject,
        text=text,
        html="",
        recipients=[partner.handoff_email],
        date=now,
    )


def _mail(notice: Notice, subject: str, text: str, recipients: list[str], now: datetime) -> NoticeMail:
    return NoticeMail(
        message_id=message_id(notice.reference),
        reference=notice.reference,
        subject=subject,
        text=text,
        html=_html(notice, text),
        recipients=list(recipients),
        date=now,
    )


def superseded_mail(notice: Notice, *, items: list[MailItem], emails: list[str], now: datetime) -> NoticeMail:
    """The old provider told that its notice is superseded for these URLs: the content answers from
    another network now (which one is not said: providers never learn of each other)."""
    subject, text = _render("superseded", notice.language, _case_context(notice, items, now))
    return _mail(notice, subject, text, emails, now)


def registrar_mail(
    notice: Notice,
    *,
    registrar: str,
    domain: str,
    items: list[MailItem],
    emails: list[str],
    now: datetime,
    language: str = "",
) -> NoticeMail:
    """The notice to the registrar of the URLs' domain (found by RDAP): the hosting provider was told and did
    not act; the registrar may act on the domain. In the registrar's `language` (English when unknown)."""
    context = {**_case_context(notice, items, now), "registrar": registrar, "domain": domain}
    subject, text = _render("registrar", language or "en", context)
    return _mail(notice, subject, text, emails, now)


def cdn_mail(notice: Notice, *, cdn, items: list[MailItem], emails: list[str], now: datetime) -> NoticeMail:
    """The notice to the CDN (or reverse proxy) in front of the content, asking it to name the origin host
    and to stop serving the content; in the CDN's language."""
    context = {**_case_context(notice, items, now), "cdn": cdn}
    subject, text = _render("cdn", cdn.language or "en", context)
    return _mail(notice, subject, text, emails, now)
