"""Composing a notice mail: plain text + HTML body, X-ARF JSON per URL and a CSV of all URLs.

Bodies show URLs defanged only (safety rule 2); the exact URLs travel in the attachments.

A mail is made in two steps. Queuing renders it (`render_notice_mails`): subject, text and HTML, with the
templates looked up once per (language, notice type); the outbox stores those with the Message-ID and the
recipients, in the notice's transaction. The delivery worker's first attempt completes it
(`attach_reports`, `NoticeMail.as_bytes`): the X-ARF reports and the CSV are built from the notice's items and
the MIME bytes are stored before the first SMTP conversation, then sent as they are, so a resend is the same
mail, byte for byte (and a DKIM signature over them stays valid). A dispatch cycle that queues thousands of
notices in one transaction so spends its time on what only it can do, and the delivery workers share the rest.

The MIME bytes come from a small builder of our own rather than Python's `email` package, which costs more than
rendering the templates. The builder writes the structure the `email` package would (multipart/mixed:
multipart/alternative text + HTML, one X-ARF JSON per URL, one CSV), with CRLF line endings, folded and RFC
2047-encoded headers where needed, and boundaries derived from the Message-ID that never occur in the content.
"""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import io
import json
import logging
import quopri
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.template import Context, Template, TemplateSyntaxError
from django.template.loader import get_template, select_template
from django.utils import translation

from notices.canonical import defang
from notices.delivery.xarf import xarf_reports
from notices.models import Notice, NoticeItem, NoticeTemplate, Url

ONE_CLICK_SALT = "notices.one-click"
logger = logging.getLogger(__name__)
CRLF = "\r\n"
MAX_LINE = 998  # RFC 5322: longer lines must be encoded (quoted-printable)


def one_click_signer(key: str | None = None) -> signing.TimestampSigner:
    """Django's `TimestampSigner` for one-click links (salt ONE_CLICK_SALT, SECRET_KEY unless `key`): the mails
    sign with `sign_object`, the portal checks with `unsign_object(…, max_age=ONE_CLICK_LINK_MAX_AGE)`. A batch
    makes one and signs all its links with it (the key is read once, not per link)."""
    return signing.TimestampSigner(key=key, salt=ONE_CLICK_SALT)


def one_click_token(notice: Notice, action: str, *, signer: signing.TimestampSigner | None = None) -> str:
    """A signed, expiring, single-purpose token for one notice and one action (acknowledge/removed/open): the
    compact JSON `{"n": reference, "a": action}`, timestamped and signed (what `signing.dumps(…,
    salt=ONE_CLICK_SALT)` makes). `signer` is the batch's `one_click_signer()`; without it one is made."""
    return (signer or one_click_signer()).sign_object({"n": notice.reference, "a": action})


class MailItem(NamedTuple):
    """What a mail needs of a notice item, for batches that have the URLs loaded but no item rows in memory."""

    url_id: int
    url: Url


def notice_items(notice: Notice) -> list[NoticeItem]:
    """The notice's items in URL order, with what the mail shows of each URL (one query)."""
    return list(
        notice.items.select_related("url__current_assessment", "url__current_trace").order_by("url_id")
    )


def shared_context(now: datetime) -> dict:
    """The part of every notice's context that depends only on the settings and `now`: a batch builds it once."""
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
    with translation.override(notice.language):
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


@dataclass
class NoticeMail:
    """A notice mail: rendered when queued, its attachments added (`attach_reports`) when it is first sent;
    `as_bytes` is what the outbox stores and sends."""

    message_id: str
    reference: str
    subject: str
    text: str
    html: str
    recipients: list[str]
    date: datetime
    # (file name, content type, content)
    attachments: list[tuple[str, str, str]] = field(default_factory=list)

    def as_bytes(self) -> bytes:
        """The complete MIME message with CRLF line endings (see the module docstring)."""
        return _mime(self)


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
    `templates` (from `mail_templates`) defaults to those of the notices' languages and types, looked up once."""
    looked_up = templates or mail_templates((n.language, n.notice_type) for n in notices)
    shared, signer = shared_context(now), one_click_signer()
    domain = settings.HOTLINE_EMAIL.rpartition("@")[2] or "hotline.invalid"
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
        mails.append(NoticeMail(
            message_id=make_msgid(idstring=notice.reference, domain=domain), reference=notice.reference,
            subject=subject, text=text, html=html, recipients=recipients[notice.provider_id], date=now,
        ))  # fmt: skip
    return mails


def attach_reports(mail: NoticeMail, notice: Notice, items: list[NoticeItem] | None = None) -> NoticeMail:
    """Add the attachments (an X-ARF report per URL, dated like the mail, and the CSV) to a rendered mail."""
    mail.attachments = _attachments(notice, notice_reports(notice, now=mail.date, items=items))
    return mail


def build_message(notice: Notice, recipients: list[str], *, now: datetime) -> NoticeMail:
    """The complete notice mail, attachments included (previews, and what a queued mail becomes when sent)."""
    items = notice_items(notice)
    (mail,) = render_notice_mails([notice], now=now, recipients={notice.provider_id: recipients},
                                  items={notice.pk: items})  # fmt: skip
    return attach_reports(mail, notice, items)


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
    """The CSV of all the notice's URLs (exact URLs: it travels as an attachment or a download, never shown)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["reference", "url_id", "url", "classification", "ip"])
    for _n, item, report in reports:
        writer.writerow([notice.reference, item.url_id, item.url.canonical, report["classification"],
                         report["source_identifier"]])  # fmt: skip
    return buffer.getvalue()


# --- The MIME builder ---------------------------------------------------------------------------------------


def _header(name: str, value: str) -> str:
    """`Name: value`, folded at spaces to 78 columns where the words allow (RFC 5322 2.2.3); a value that is not
    ASCII becomes UTF-8 encoded words (RFC 2047), one per line."""
    if not value.isascii():
        return f"{name}: " + f"{CRLF} ".join(_encoded_words(value))
    lines = [f"{name}:"]
    for word in value.split(" "):
        if len(lines[-1]) + 1 + len(word) > 78 and lines[-1]:
            if lines[-1] == f"{name}:":  # a word too long for the first line: `Name: ` as the `email` package
                lines[-1] += " "
            lines.append("")
        lines[-1] += f" {word}"
    return CRLF.join(lines)


def _encoded_words(value: str) -> list[str]:
    """`=?utf-8?b?…?=` words of 68 characters (a line of 78 with the header name), never splitting a character."""
    chunks, size = [""], 0
    for char in value:
        length = len(char.encode())
        if size + length > 42:
            chunks.append("")
            size = 0
        chunks[-1] += char
        size += length
    return [f"=?utf-8?b?{base64.b64encode(chunk.encode()).decode('ascii')}?=" for chunk in chunks]


def _crlf(content: str) -> str:
    if "\r" in content:
        content = content.replace("\r\n", "\n").replace("\r", "\n")
    return content.replace("\n", CRLF)


def _text_part(content: str, content_type: str, filename: str | None = None) -> list[str]:
    """A text part: 7bit/8bit as it is, quoted-printable only when a line is too long for SMTP. Text types are
    UTF-8 (as Django sends them); the X-ARF JSON is ASCII (escaped by `json.dumps`), so it needs no base64."""
    data = content.encode()
    if len(data) > MAX_LINE and max(map(len, data.split(b"\n"))) > MAX_LINE:
        encoding, body = "quoted-printable", quopri.encodestring(data).decode("ascii")
    else:
        encoding, body = ("7bit" if content.isascii() else "8bit"), content
    charset = '; charset="utf-8"' if content_type.startswith("text/") else ""
    headers = [f"Content-Type: {content_type}{charset}", "MIME-Version: 1.0",
               f"Content-Transfer-Encoding: {encoding}"]  # fmt: skip
    if filename:
        headers.append(f'Content-Disposition: attachment; filename="{filename}"')
    return [*headers, "", _crlf(body)]


def _multipart(subtype: str, boundary: str, parts: list[list[str]], headers: list[str]) -> list[str]:
    lines = [f'Content-Type: multipart/{subtype}; boundary="{boundary}"', "MIME-Version: 1.0", *headers, ""]
    for part in parts:
        lines += [f"--{boundary}", *part]
    return [*lines, f"--{boundary}--", ""]


def _boundaries(mail: NoticeMail, parts: list[list[str]]) -> tuple[str, str]:
    """Two boundaries derived from the Message-ID (stable), salted until no part contains them."""
    salt = 0
    while True:
        token = hashlib.blake2b(f"{mail.message_id}/{salt}".encode(), digest_size=12).hexdigest()
        mixed, alternative = f"=_mixed_{token}", f"=_alt_{token}"
        if not any(mixed in line or alternative in line for part in parts for line in part):
            return mixed, alternative
        salt += 1


@functools.lru_cache(maxsize=4)
def _from_header(address: str) -> str:
    """The From header of `address` (the same for every mail of a batch; parsing it cost more than the rest)."""
    return _header("From", formataddr(parseaddr(address), charset="utf-8"))


def _mime(mail: NoticeMail) -> bytes:
    bodies = [_text_part(mail.text, "text/plain"), _text_part(mail.html, "text/html")]
    attachments = [
        _text_part(content, content_type, name) for name, content_type, content in mail.attachments
    ]
    mixed, alternative = _boundaries(mail, bodies + attachments)
    headers = [
        _header("Subject", mail.subject),
        _from_header(settings.DEFAULT_FROM_EMAIL),
        _header("To", ", ".join(mail.recipients)),
        f"Date: {formatdate(mail.date.timestamp())}",
        _header("Message-ID", mail.message_id),
        _header("X-Notice-Reference", mail.reference),
        "Auto-Submitted: auto-generated",
    ]
    body = _multipart("alternative", alternative, bodies, [])
    message = _multipart("mixed", mixed, [body, *attachments], headers)
    return CRLF.join(message).encode()
