"""The one mail builder: every mail we send — notices, analyst alerts, portal invitations and reply notices —
is a `Mail` made here, with one header policy:

- From: DEFAULT_FROM_EMAIL; To: the recipients; Date: when the mail was made;
- Message-ID: `<…idstring@domain>` with the domain of HOTLINE_EMAIL, so replies and bounces (matched by
  Message-ID in `notices.delivery.inbound`) name a domain of ours, never the host's name;
- Auto-Submitted: auto-generated (RFC 3834) on every mail, since a program sends each of them; mails to our
  own people (`internal=True`: analyst alerts) also carry X-Auto-Response-Suppress, so no out-of-office
  answers them. Notice mails must not: a provider's auto-reply carries its ticket number, which we take in;
- the subject and text (and HTML where there is one) rendered from templates in the mail's language.

A mail leaves in one of two ways. Notices go through the outbox, which stores `Mail.as_bytes()` — the MIME
written by the small writer below rather than Python's `email` package, which costs more than rendering the
templates (multipart/mixed: multipart/alternative text + HTML, then the attachments; CRLF line endings,
folded and RFC 2047-encoded headers where needed, boundaries derived from the Message-ID that never occur in
the content). Single mails are sent at once with `send`, through Django's mail backend (`as_email_message`:
the same headers), which retries nothing: the caller (a task) does.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import quopri
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import formataddr, formatdate, make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

CRLF = "\r\n"
MAX_LINE = 998  # RFC 5322: longer lines must be encoded (quoted-printable)
AUTO_SUBMITTED = ("Auto-Submitted", "auto-generated")
INTERNAL_HEADERS = {"X-Auto-Response-Suppress": "All"}


@dataclass(kw_only=True)
class Mail:
    """A mail as we send it; `headers` come after the policy's own (see the module docstring), in order."""

    message_id: str
    subject: str
    text: str
    recipients: list[str]
    date: datetime
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # (file name, content type, content)
    attachments: list[tuple[str, str, str]] = field(default_factory=list)

    def as_bytes(self) -> bytes:
        """The complete MIME message with CRLF line endings (see the module docstring)."""
        return _mime(self)

    def as_email_message(self) -> EmailMultiAlternatives:
        """The same mail for Django's mail backend (plain text/plain when it has no HTML and no
        attachment)."""
        message = EmailMultiAlternatives(
            self.subject,
            self.text,
            settings.DEFAULT_FROM_EMAIL,
            self.recipients,
            headers={
                "Date": formatdate(self.date.timestamp()),
                "Message-ID": self.message_id,
                **self.headers,
                AUTO_SUBMITTED[0]: AUTO_SUBMITTED[1],
            },
        )
        if self.html is not None:
            message.attach_alternative(self.html, "text/html")
        for name, content_type, content in self.attachments:
            message.attach(name, content, content_type)
        return message


def mail_domain() -> str:
    """The domain of our Message-IDs: HOTLINE_EMAIL's."""
    return settings.HOTLINE_EMAIL.rpartition("@")[2] or "hotline.invalid"


def message_id(idstring: str) -> str:
    """A new Message-ID naming `idstring` (a notice reference, `alert-<event id>`…) in our domain."""
    return make_msgid(idstring=idstring, domain=mail_domain())


def new_mail(
    *,
    idstring: str,
    subject: str,
    text: str,
    recipients: list[str],
    now: datetime,
    html: str | None = None,
    headers: dict[str, str] | None = None,
    internal: bool = False,
) -> Mail:
    """A mail under the header policy; `internal` for mails to our own people (no auto-responses)."""
    return Mail(
        message_id=message_id(idstring),
        subject=subject,
        text=text,
        recipients=list(recipients),
        date=now,
        html=html,
        headers={**(headers or {}), **(INTERNAL_HEADERS if internal else {})},
    )


def render_templates(
    *, subject: str, text: str, context: dict, language: str, html: str | None = None
) -> tuple[str, str, str | None]:
    """(subject, text, HTML or None) from the named templates, rendered in `language`. The subject becomes one
    line; the HTML template gets the rendered text as `text`."""
    with translation.override(language):
        rendered = render_to_string(text, context)
        one_line = " ".join(render_to_string(subject, context).split())
        return one_line, rendered, render_to_string(html, {**context, "text": rendered}) if html else None


def send(mail: Mail) -> None:
    """Send one mail now through Django's mail backend; SMTP errors propagate (the caller retries or logs)."""
    mail.as_email_message().send()


# --- The MIME writer ---------------------------------------------------------------------------------------


def _header(name: str, value: str) -> str:
    """`Name: value`, folded at spaces to 78 columns where the words allow (RFC 5322 2.2.3); a value that is
    not ASCII becomes UTF-8 encoded words (RFC 2047), one per line."""
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
    """`=?utf-8?b?…?=` words of 68 characters (a line of 78 with the header name), never splitting a
    character."""
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
    headers = [
        f"Content-Type: {content_type}{charset}",
        "MIME-Version: 1.0",
        f"Content-Transfer-Encoding: {encoding}",
    ]
    if filename:
        headers.append(f'Content-Disposition: attachment; filename="{filename}"')
    return [*headers, "", _crlf(body)]


def _multipart(subtype: str, boundary: str, parts: list[list[str]], headers: list[str]) -> list[str]:
    lines = [f'Content-Type: multipart/{subtype}; boundary="{boundary}"', "MIME-Version: 1.0", *headers, ""]
    for part in parts:
        lines += [f"--{boundary}", *part]
    return [*lines, f"--{boundary}--", ""]


def _boundaries(mail: Mail, parts: list[list[str]]) -> tuple[str, str]:
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
    """The From header of `address` (the same for every mail of a batch; parsing it cost more than the
    rest)."""
    return _header("From", formataddr(parseaddr(address), charset="utf-8"))


def _mime(mail: Mail) -> bytes:
    """1. the policy's headers, then the mail's own; 2. the body: text alone, or text + HTML as alternatives;
    3. with attachments, body and attachments in multipart/mixed."""
    headers = [
        _header("Subject", mail.subject),
        _from_header(settings.DEFAULT_FROM_EMAIL),
        _header("To", ", ".join(mail.recipients)),
        f"Date: {formatdate(mail.date.timestamp())}",
        _header("Message-ID", mail.message_id),
        *(_header(name, value) for name, value in mail.headers.items()),
        f"{AUTO_SUBMITTED[0]}: {AUTO_SUBMITTED[1]}",
    ]
    text = _text_part(mail.text, "text/plain")
    bodies = [text] if mail.html is None else [text, _text_part(mail.html, "text/html")]
    attachments = [
        _text_part(content, content_type, name) for name, content_type, content in mail.attachments
    ]
    mixed, alternative = _boundaries(mail, bodies + attachments)
    if not attachments and mail.html is None:
        message = [*headers, *text]
    elif not attachments:
        message = _multipart("alternative", alternative, bodies, headers)
    else:
        body = _multipart("alternative", alternative, bodies, []) if mail.html is not None else text
        message = _multipart("mixed", mixed, [body, *attachments], headers)
    return CRLF.join(message).encode()
