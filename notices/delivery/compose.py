"""Composing a notice mail: plain text + HTML body, X-ARF JSON per URL and a CSV of all URLs.

Bodies show URLs defanged only (safety rule 2); the exact URLs travel in the attachments.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import datetime
from email.utils import make_msgid
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template import Context, Template, TemplateSyntaxError
from django.template.loader import get_template, select_template
from django.utils import translation

from notices.canonical import defang
from notices.delivery.xarf import xarf_report
from notices.models import Notice, NoticeItem, NoticeTemplate

ONE_CLICK_SALT = "notices.one-click"
logger = logging.getLogger(__name__)


def one_click_token(notice: Notice, action: str) -> str:
    """A signed, expiring, single-purpose token for one notice and one action (acknowledge/removed/open)."""
    return signing.dumps({"n": notice.reference, "a": action}, salt=ONE_CLICK_SALT, compress=True)


def notice_context(notice: Notice, *, now: datetime, items: list[NoticeItem] | None = None) -> dict:
    """What every notice template sees. `items` defaults to the notice's own (the admin preview passes a
    sample notice's items, built in memory)."""
    if items is None:
        items = list(
            notice.items.select_related("url__current_assessment", "url__current_trace").order_by("url_id")
        )
    tz = ZoneInfo(notice.provider.time_zone or "UTC")
    base = settings.PUBLIC_BASE_URL
    return {
        "notice": notice,
        "provider": notice.provider,
        "hotline_name": settings.HOTLINE_NAME,
        "hotline_email": settings.HOTLINE_EMAIL,
        "trusted_flagger": settings.HOTLINE_TRUSTED_FLAGGER,
        "deadline_local": notice.deadline_at.astimezone(tz) if notice.deadline_at else None,
        "time_zone": str(tz),
        "items": [
            {"n": i, "defanged": defang(item.url.canonical), "assessment": item.url.current_assessment}
            for i, item in enumerate(items, 1)
        ],
        "portal_url": f"{base}/portal/notices/{notice.reference}/",
        "ack_url": f"{base}/portal/one-click/{one_click_token(notice, 'acknowledge')}/",
        "removed_url": f"{base}/portal/one-click/{one_click_token(notice, 'removed')}/",
        "api_url": f"{base}/api/v1/provider/notices/{notice.reference}/",
        "now": now,
    }


def _template(language: str, suffix: str):
    return select_template([f"notices/mail/notice.{language}.{suffix}", f"notices/mail/notice.en.{suffix}"])


def active_template(language: str, notice_type: str) -> NoticeTemplate | None:
    """The most specific active admin-edited template: language + type, then language + any type."""
    candidates = NoticeTemplate.objects.filter(
        language=language, notice_type__in=[notice_type, ""], active=True
    )
    return max(candidates, key=lambda t: t.notice_type != "", default=None)


def render_db_template(source: str, context: dict) -> str:
    """Render admin-edited template text as plain text (no HTML escaping, as the file templates)."""
    return Template(source).render(Context(context, autoescape=False))


def render_notice(notice: Notice, context: dict, *, template: NoticeTemplate | None) -> tuple[str, str, str]:
    """(subject, text, HTML) of a notice: from `template` when given, else from the file templates."""
    with translation.override(notice.language):
        if template is not None:
            text = render_db_template(template.body, context)
            subject = render_db_template(template.subject, context)
        else:
            text = _template(notice.language, "txt").render(context)
            subject = _template(notice.language, "subject.txt").render(context)
        html = get_template("notices/mail/notice.html").render({**context, "text": text})
    return " ".join(subject.split()), text, html


def build_message(notice: Notice, recipients: list[str], *, now: datetime) -> EmailMultiAlternatives:
    """The complete notice mail with a stable Message-ID (a resend after a crash is the same mail)."""
    template = active_template(notice.language, notice.notice_type)
    context = notice_context(notice, now=now)
    try:
        subject, text, html = render_notice(notice, context, template=template)
    except TemplateSyntaxError:
        # Saved past the admin's check (shell, fixture): the file templates still make a sound mail.
        logger.exception("notice template %s does not compile; using the file templates", template)
        subject, text, html = render_notice(notice, context, template=None)
    domain = settings.HOTLINE_EMAIL.rpartition("@")[2] or "hotline.invalid"
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        headers={
            "Message-ID": make_msgid(idstring=notice.reference, domain=domain),
            "X-Notice-Reference": notice.reference,
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    _attach_reports(message, notice, now)
    return message


def notice_reports(notice: Notice, *, now: datetime) -> list[tuple[int, NoticeItem, dict]]:
    """(n, item, X-ARF report) for each URL of the notice, in URL order: the mail's attachments and the
    portal's downloads are built from this one list."""
    items = notice.items.select_related("url__current_assessment", "url__current_trace").order_by("url_id")
    return [(n, item, xarf_report(notice=notice, url=item.url, now=now)) for n, item in enumerate(items, 1)]


def notice_csv(notice: Notice, reports: list[tuple[int, NoticeItem, dict]]) -> str:
    """The CSV of all the notice's URLs (exact URLs: it travels as an attachment or a download, never shown)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["reference", "url_id", "url", "classification", "ip"])
    for _n, item, report in reports:
        writer.writerow([notice.reference, item.url_id, item.url.canonical, report["classification"],
                         report["source_identifier"]])  # fmt: skip
    return buffer.getvalue()


def _attach_reports(message: EmailMultiAlternatives, notice: Notice, now: datetime) -> None:
    reports = notice_reports(notice, now=now)
    for n, _item, report in reports:
        message.attach(f"xarf-{notice.reference}-{n}.json", json.dumps(report, indent=2), "application/json")
    message.attach(f"urls-{notice.reference}.csv", notice_csv(notice, reports), "text/csv")
