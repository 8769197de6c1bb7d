"""Inbound mail: replies, auto-replies and bounces to notice mails, matched to their notice and kept as text.

A message is matched by the notice reference in its subject, else by In-Reply-To / References naming the
Message-ID of one of our outgoing messages, else by an `X-Notice-Reference` header. A bounce (RFC 3464 DSN) is
matched through the original message it carries. Mail is parsed, never trusted: HTML is reduced to text,
nothing is rendered, and malformed input is stored as well as it can be rather than raising.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from email import errors, policy
from email.message import EmailMessage
from email.parser import BytesParser, HeaderParser
from html.parser import HTMLParser

from notices.models import InboundMessage, Notice, OutgoingMessage
from notices.models.inbound import INBOUND_TEXT_LIMIT

logger = logging.getLogger(__name__)

REFERENCE_RE = re.compile(r"\bTN-\d{4}-\d{6}\b")
MESSAGE_ID_RE = re.compile(r"<[^<>\s]+>")
# The provider's own ticket number, as ticket systems put it in the subject: "[Ticket#12345]",
# "Ticket: ABC-123", "Case #987", "… #12345". Tried in this order; our own reference never counts.
TICKET_RES = [
    re.compile(r"\[(?:ticket|case|incident|issue|request)\s*[#:]\s*([A-Z0-9][\w.-]*)\]", re.I),
    re.compile(r"\[[^\[\]]*#\s*([A-Z0-9][\w.-]*)\]", re.I),  # RT style: "[polder.example #12345]"
    re.compile(
        r"\b(?:ticket|case|incident|issue|request)(?:\s*(?:id|no\.?|number))?\s*[:#]\s*([A-Z0-9][\w.-]*)",
        re.I,
    ),
    re.compile(r"(?<![\w&])#\s?(\d{3,})\b"),
]
AUTO_SUBJECT_RE = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort|antwoord)|auto:|autoreply|out of (the )?office|"
    r"abwesenheit|automatische antwort|automatisch antwoord|afwezig|r[ée]ponse automatique|"
    r"absence|ticket (received|created|opened))",
    re.I,
)
AUTO_PRECEDENCE = {"auto_reply", "bulk", "junk", "list"}
BLOCK_TAGS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "hr"}
SKIP_TAGS = {"script", "style", "head", "title", "template"}


@dataclass
class ParsedMail:
    """What ingest needs from one message; filled by `parse`, which never raises."""

    message_id: str
    from_address: str = ""
    subject: str = ""
    kind: str = InboundMessage.Kind.REPLY
    references: list[str] = field(default_factory=list)  # subject references, then header ones
    reply_to_ids: list[str] = field(default_factory=list)  # In-Reply-To / References / DSN original
    ticket: str = ""
    bounced: list[str] = field(default_factory=list)
    bounce_status: str = ""
    bounce_diagnostic: str = ""
    text: str = ""


def match_notice(mail: ParsedMail) -> Notice | None:
    """1. a reference in the subject; 2. In-Reply-To/References (or a DSN's original) naming our Message-ID;
    3. an X-Notice-Reference header (ours, quoted back or carried in a DSN)."""
    subject_refs = REFERENCE_RE.findall(mail.subject)
    header_refs = [ref for ref in mail.references if ref not in subject_refs]
    for reference in subject_refs:
        if notice := Notice.objects.filter(reference=reference).first():
            return notice
    if mail.reply_to_ids:
        sent = (
            OutgoingMessage.objects.filter(message_id__in=mail.reply_to_ids).select_related("notice").first()
        )
        if sent is not None and sent.notice is not None:  # a hand-off's reply is no notice's
            return sent.notice
    for reference in header_refs:
        if notice := Notice.objects.filter(reference=reference).first():
            return notice
    return None


# --- Parsing (pure; never raises) --------------------------------------------------------------------------


def mail_problem(raw: bytes) -> str | None:
    """Why `raw` is not a mail message worth ingesting, or None. For callers that can refuse input (the HTTP
    endpoint); `ingest_message` itself stores whatever it is given. A message needs a header block with a
    From field (RFC 5322 requires one; MTAs put one on every bounce)."""
    if not raw.strip():
        return "The body is empty; send the raw message (RFC 5322) as it was received."
    try:
        msg = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
    except Exception:
        return "The body could not be parsed as a mail message."
    if not msg.keys() or any(isinstance(d, errors.MissingHeaderBodySeparatorDefect) for d in msg.defects):
        return "The body does not start with a mail header block (Name: value lines, then a blank line)."
    if not _header(msg, "From").strip():
        return "The message has no From header."
    return None


def parse(raw: bytes) -> ParsedMail:
    fallback_id = f"<sha256-{hashlib.sha256(raw).hexdigest()}@inbound.invalid>"
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception:  # malformed mail is stored, not refused
        logger.warning("inbound: could not parse a %d-byte message", len(raw), exc_info=True)
        return ParsedMail(message_id=fallback_id, text=_clean(raw.decode("utf-8", "replace")))
    message_id = (MESSAGE_ID_RE.findall(_header(msg, "Message-ID")) or [fallback_id])[0]
    mail = ParsedMail(
        message_id=message_id[:300],
        from_address=_header(msg, "From"),
        subject=" ".join(_header(msg, "Subject").split()),
    )
    mail.reply_to_ids = MESSAGE_ID_RE.findall(_header(msg, "In-Reply-To") + " " + _header(msg, "References"))
    mail.references = REFERENCE_RE.findall(mail.subject) + REFERENCE_RE.findall(
        _header(msg, "X-Notice-Reference")
    )
    try:
        _classify(msg, mail)
    except Exception:  # a part we cannot read leaves the mail as a plain reply
        logger.warning("inbound: could not classify %s", mail.message_id, exc_info=True)
    mail.text = _clean(_safe(lambda: _body_text(msg)))[:INBOUND_TEXT_LIMIT]
    return mail


def _classify(msg: EmailMessage, mail: ParsedMail) -> None:
    """Bounce (DSN), auto-reply or reply; fills in the ticket number and the bounce details."""
    if msg.get_content_type() == "multipart/report" and msg.get_param("report-type") == "delivery-status":
        mail.kind = InboundMessage.Kind.BOUNCE
        _read_dsn(msg, mail)
        return
    if _is_auto_reply(msg, mail.subject):
        mail.kind = InboundMessage.Kind.AUTO_REPLY
    mail.ticket = _ticket(mail.subject)


def _is_auto_reply(msg: EmailMessage, subject: str) -> bool:
    auto_submitted = _header(msg, "Auto-Submitted").strip().lower()
    return (
        (auto_submitted != "" and not auto_submitted.startswith("no"))
        or bool(_header(msg, "X-Autoreply") or _header(msg, "X-Autorespond"))
        or _header(msg, "Precedence").strip().lower() in AUTO_PRECEDENCE
        or bool(
            AUTO_SUBJECT_RE.match(
                REFERENCE_RE.sub("", re.sub(r"^\s*(re|aw|antw|sv|tr)\s*:\s*", "", subject, flags=re.I))
            )
        )
    )


def _ticket(subject: str) -> str:
    without_ours = REFERENCE_RE.sub(" ", subject)
    for pattern in TICKET_RES:
        if match := pattern.search(without_ours):
            return match.group(1)
    return ""


def _read_dsn(msg: EmailMessage, mail: ParsedMail) -> None:
    """Per-recipient blocks with `Action: failed` and a 5.x.x status; the original's Message-ID and
    reference."""
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            for block in part.get_payload()[
                1:
            ]:  # the first block is about the message, the rest per recipient
                status = _header(block, "Status").strip()
                if _header(block, "Action").strip().lower() == "failed" and status.startswith("5"):
                    recipient = _header(block, "Final-Recipient") or _header(block, "Original-Recipient")
                    mail.bounced.append(recipient.split(";", 1)[-1].strip().lower())
                    mail.bounce_status = mail.bounce_status or status
                    mail.bounce_diagnostic = (
                        mail.bounce_diagnostic or _header(block, "Diagnostic-Code").strip()
                    )
        elif kind in ("message/rfc822", "text/rfc822-headers"):
            original = (
                part.get_payload()[0]
                if kind == "message/rfc822"
                else HeaderParser().parsestr(part.get_content())
            )
            mail.reply_to_ids += MESSAGE_ID_RE.findall(_header(original, "Message-ID"))
            mail.references += REFERENCE_RE.findall(_header(original, "X-Notice-Reference"))
            mail.references += REFERENCE_RE.findall(_header(original, "Subject"))


def _body_text(msg: EmailMessage) -> str:
    """The plain-text body; an HTML-only body converted to text; a bare non-MIME payload as it is."""
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        part = next((p for p in msg.walk() if p.get_content_maintype() == "text"), None)
    if part is None:
        return ""
    content = _safe(part.get_content) or _decoded_payload(part)
    return html_to_text(content) if part.get_content_subtype() == "html" else content


def _decoded_payload(part: EmailMessage) -> str:
    payload = part.get_payload(decode=True)
    return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in SKIP_TAGS:
            self.skipping += 1
        elif tag in BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP_TAGS:
            self.skipping = max(self.skipping - 1, 0)
        elif tag in BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    """Text of an HTML body: tags, scripts and styles dropped, entities decoded, blank runs collapsed."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = [" ".join(line.split()) for line in "".join(extractor.chunks).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _header(msg, name: str) -> str:
    """A header as text, '' when missing or unreadable (policy.default raises on some malformed values)."""
    try:
        value = msg.get(name)
    except Exception:
        return ""
    return _clean(str(value)) if value is not None else ""


def _safe(read) -> str:
    try:
        value = read()
    except Exception:  # unknown charsets, broken transfer encodings
        return ""
    return value if isinstance(value, str) else ""


def _clean(value: str) -> str:
    """PostgreSQL text cannot hold NUL; mail may."""
    return value.replace("\x00", "")
