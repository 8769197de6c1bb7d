"""Composing a notice mail: plain text + HTML body, X-ARF JSON per URL and a CSV of all URLs.

Bodies show URLs defanged only (safety rule 2); the exact URLs travel in the attachments.

A mail is made in two steps. Queuing renders it (`render_notice_mails`): subject, text and HTML, with the
templates looked up once per (language, notice type); the outbox stores those with the Message-ID and the
recipients, in the notice's transaction. The delivery worker's first attempt completes it
(`attach_reports`, `NoticeMail.as_bytes`): the X-ARF reports and the CSV are built from the notice's items and
the MIME bytes are stored before the first SMTP conversation, then sent as they are, so a resend is the same
mail, byte for byte (and a DKIM signature over them stays valid). A dispatch cycle that queues thousands of
notices in one transaction so spends its time on what only it can do, and the delivery workers share the rest.

The headers and the MIME bytes come from the one mail builder (`notices.delivery.mail`): multipart/mixed with
multipart/alternative text + HTML, one X-ARF JSON per URL, one CSV.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.template import Context, Template, TemplateSyntaxError
from django.template.loader import get_template, select_template
from django.utils import timezone, translation

from notices.canonical import defang
from notices.delivery.mail import Mail
from notices.delivery.mail import message_id as new_message_id
from notices.delivery.xarf import xarf_reports
from notices.models import Notice, NoticeItem, NoticeTemplate, Url

ONE_CLICK_SALT = "notices.one-click"
logger = logging.getLogger(__name__)


def one_click_signer(key: str | None = None) -> signing.TimestampSigner:
    """Django's `TimestampSigner` for one-click links (salt ONE_CLICK_SALT, SECRET_KEY unless `key`): the
    mails sign with `sign_object`, the portal checks with `unsign_object(…, max_age=ONE_CLICK_LINK_MAX_AGE)`.
    A batch makes one and signs all its links with it (the key is read once, not per link)."""
    return signing.TimestampSigner(key=key, salt=ONE_CLICK_SALT)


def one_click_token(notice: Notice, action: str, *, signer: signing.TimestampSigner | None = None) -> str:
    """A signed, expiring, single-purpose token for one notice and one action (acknowledge/removed/open): the
    compact JSON `{"n": reference, "a": action}`, timestamped and signed (what `signing.dumps(…,
    salt=ONE_CLICK_SALT)` makes). `signer` is the batch's `one_click_signer()`; without it one is made."""
    return (signer or one_click_signer()).sign_object({"n": notice.reference, "a": action})


class MailItem(NamedTuple):
    """What a mail needs of a notice item, for batches that have the URLs loaded but no item rows in
    memory."""

    url_id: int
    url: Url


def notice_items(notice: Notice) -> list[NoticeItem]:
    """The notice's items in URL order, with what the mail shows of each URL (one query)."""
    return list(
        notice.items.select_related("url__current_assessment", "url__current_trace").order_by("url_id")
    )


def shared_context(now: datetime) -> dict:
    """The part of every notice's context that depends only on the settings and `now`: a batch builds it
    once."""
    return {
        "hotline_name": settings.HOTLINE_NAME,
        "hotline_email": settings.HOTLINE_EMAIL,
        "trusted_flagger": settings.HOTLINE_TRUSTED_FLAGGER,
        "now": now,
    }


def notice_context(
    notice: Notice,
    *,
    now: datetime,
    items: list[NoticeItem] | None = None,
    shared: dict | None = None,
    signer: signing.TimestampSigner | None = None,
) -> dict:
    """What every notice template sees. `items` defaults to the notice's own (batches pass them loaded; the
    admin preview passes a sample notice's items, built in memory); `shared` is `shared_context(now)` and
    `signer` is `one_click_signer()`, which a batch builds once."""
    items = notice_items(notice) if items is None else items
    signer = signer or one_click_signer()
    tz = ZoneInfo(notice.provider.time_zone or "UTC")
    base, reference = settings.PUBLIC_BASE_URL, notice.reference
    return {
        **(shared_context(now) if shared is None else shared),
        "notice": notice,
        "provider": notice.provider,
        "deadline_local": notice.deadline_at.astimezone(tz) if notice.deadline_at else None,
        "time_zone": str(tz),
        "items": [
            {"n": i, "defanged": defang(item.url.canonical), "assessment": item.url.current_assessment}
            for i, item in enumerate(items, 1)
        ],
        "portal_url": f"{base}/portal/notices/{reference}/",
        "ack_url": f"{base}/portal/one-click/{one_click_token(notice, 'acknowledge', signer=signer)}/",
        "removed_url": f"{base}/portal/one-click/{one_click_token(notice, 'removed', signer=signer)}/",
        "api_url": f"{base}/api/v1/provider/notices/{reference}/",
    }


class _DbTemplate:
    """Admin-edited template text, compiled once, rendered as plain text (no HTML escaping, as the files)."""

    def __init__(self, source: str):
        self.template = Template(source)

    def render(self, context: dict) -> str:
        return self.template.render(Context(context, autoescape=False))


def render_db_template(source: str, context: dict) -> str:
    """Render admin-edited template text as plain text (no HTML escaping, as the file templates)."""
    return _DbTemplate(source).render(context)


def _most_specific(active, language: str, notice_type: str) -> NoticeTemplate | None:
    candidates = [t for t in active if t.language == language and t.notice_type in (notice_type, "")]
    return max(candidates, key=lambda t: t.notice_type != "", default=None)


def _file_templates(language: str) -> tuple:
    """(subject, text, HTML) file templates in `language`, English where a language has none."""
    names = [f"notices/mail/notice.{language}.subject.txt", "notices/mail/notice.en.subject.txt"]
    subject = select_template(names)
    text = select_template([f"notices/mail/notice.{language}.txt", "notices/mail/notice.en.txt"])
    return subject, text, get_template("notices/mail/notice.html")


def mail_templates(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple]:
    """(subject, text, HTML) per (language, notice type), with one query for the admin templates: the active
    admin template's subject and body when there is one and it compiles, else the files; the HTML always wraps
    the text."""
    keys = set(keys)
    active = list(
        NoticeTemplate.objects.filter(active=True, language__in={language for language, _ in keys}).order_by(
            "pk"
        )
    )
    return {key: _mail_templates(*key, active) for key in keys}


def _mail_templates(language: str, notice_type: str, active: list[NoticeTemplate]) -> tuple:
    files = _file_templates(language)
    template = _most_specific(active, language, notice_type)
    if template is None:
        return files
    try:
        return _DbTemplate(template.subject), _DbTemplate(template.body), files[2]
    except TemplateSyntaxError:
        # Saved past the admin's check (shell, fixture): the file templates still make a sound mail.
        logger.exception("notice template %s does not compile; using the file templates", template)
        return files


def render_notice(
    notice: Notice, context: dict, *, template: NoticeTemplate | None, templates: tuple | None = None
) -> tuple[str, str, str]:
    """(subject, text, HTML) of a notice: from `template` when given, else from the file templates.
    `templates` (from `mail_templates`, looked up once per batch) overrides both."""
    if templates is None:
        files = _file_templates(notice.language)
        db = (
            (_DbTemplate(template.subject), _DbTemplate(template.body)) if template is not None else files[:2]
        )
        templates = (*db, files[2])
    subject_template, text_template, html_template = templates
    # Times print in the provider's time zone (a template's `date` filter converts to the active one).
    tz = ZoneInfo(notice.provider.time_zone or "UTC")
    with translation.override(notice.language), timezone.override(tz):
        text = text_template.render(context)
        subject = " ".join(subject_template.render(context).split())
        if not subject or not text.strip():
            # An edited template can still render empty for a real notice where the editor's sample did not
            # (a condition on its contents): no empty mail goes out; the file templates make a sound one.
            logger.warning("notice template renders empty for %s; using the file templates", notice.reference)
            files = _file_templates(notice.language)
            text = files[1].render(context)
            subject = " ".join(files[0].render(context).split())
        html = html_template.render({**context, "text": text})
    return subject, text, html


@dataclass(kw_only=True)
class NoticeMail(Mail):
    """A notice mail: rendered when queued, its attachments added (`attach_reports`) when it is first sent;
    `as_bytes` is what the outbox stores and sends. Its reference goes in X-Notice-Reference, by which
    `notices.delivery.inbound` matches replies."""

    reference: str

    def __post_init__(self) -> None:
        self.headers = {"X-Notice-Reference": self.reference, **self.headers}


def render_notice_mails(
    notices: Sequence[Notice],
    *,
    now: datetime,
    recipients: dict[int, list[str]],
    items: dict[int, list[NoticeItem | MailItem]] | None = None,
    templates: dict[tuple[str, str], tuple] | None = None,
) -> list[NoticeMail]:
    """The rendered mails of many notices, without attachments: `recipients` per provider id; `items` per
    notice id (loaded with their URLs, assessments and traces, as `notice_items`) saves a query per notice.
    `templates` (from `mail_templates`) defaults to those of the notices' languages and types, looked up
    once."""
    looked_up = templates or mail_templates((n.language, n.notice_type) for n in notices)
    shared, signer = shared_context(now), one_click_signer()
    mails = []
    for notice in notices:
        key = (notice.language, notice.notice_type)
        context = notice_context(
            notice,
            now=now,
            items=items[notice.pk] if items is not None else None,
            shared=shared,
            signer=signer,
        )
        subject, text, html = render_notice(notice, context, template=None, templates=looked_up[key])
        mails.append(
            NoticeMail(
                message_id=new_message_id(notice.reference),
                reference=notice.reference,
                subject=subject,
                text=text,
                html=html,
                recipients=recipients[notice.provider_id],
                date=now,
            )
        )
    return mails


def attach_reports(mail: NoticeMail, notice: Notice, items: list[NoticeItem] | None = None) -> NoticeMail:
    """Add the attachments (an X-ARF report per URL, dated like the mail, and the CSV) to a rendered mail."""
    mail.attachments = _attachments(notice, notice_reports(notice, now=mail.date, items=items))
    return mail


def _attachments(notice: Notice, reports: list[tuple[int, NoticeItem, dict]]) -> list[tuple[str, str, str]]:
    """One X-ARF JSON per URL, then the CSV of all URLs."""
    attachments = [
        (f"xarf-{notice.reference}-{n}.json", "application/json", json.dumps(report))
        for n, _item, report in reports
    ]
    attachments.append((f"urls-{notice.reference}.csv", "text/csv", notice_csv(notice, reports)))
    return attachments


def notice_reports(
    notice: Notice, *, now: datetime, items: list[NoticeItem] | None = None
) -> list[tuple[int, NoticeItem, dict]]:
    """(n, item, X-ARF report) for each URL of the notice, in URL order: the mail's attachments and the
    portal's downloads are built from this one list."""
    items = notice_items(notice) if items is None else items
    reports = xarf_reports(notice=notice, urls=[item.url for item in items], now=now)
    return [(n, item, report) for n, (item, report) in enumerate(zip(items, reports, strict=True), 1)]


def notice_csv(notice: Notice, reports: list[tuple[int, NoticeItem, dict]]) -> str:
    """The CSV of all the notice's URLs (exact URLs: it travels as an attachment or a download, never
    shown)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["reference", "url_id", "url", "classification", "ip"])
    for _n, item, report in reports:
        writer.writerow(
            [
                notice.reference,
                item.url_id,
                item.url.canonical,
                report["classification"],
                report["source_identifier"],
            ]
        )
    return buffer.getvalue()
