"""The one mail builder: the header policy is the same whichever way a mail leaves (the outbox's MIME bytes or
Django's backend through the real SMTP sink); text-only mails are a single text/plain part."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

from notices.delivery.mail import new_mail, render_templates, send

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def policy_headers(message) -> dict:
    names = ("From", "To", "Subject", "Auto-Submitted", "X-Auto-Response-Suppress", "X-Notice-Reference")
    return {name: message[name] for name in names}


def test_new_mail_message_id_is_in_the_hotline_domain(settings):
    settings.HOTLINE_EMAIL = "notices@hotline.example"

    mail = new_mail(idstring="alert-7", subject="s", text="t", recipients=["a@hotline.example"], now=NOW)

    assert mail.message_id.endswith(".alert-7@hotline.example>")


def test_mail_bytes_and_django_backend_carry_the_same_policy(settings, smtp_sink):
    settings.DEFAULT_FROM_EMAIL = "Demo Hotline <notices@hotline.example>"
    mail = new_mail(
        idstring="alert-1",
        subject="Notice bounced: Polder Hosting",
        text="Körper\n",
        recipients=["analyst@hotline.example"],
        now=NOW,
        internal=True,
    )

    stored = email.message_from_bytes(mail.as_bytes(), policy=email.policy.default)
    send(mail)
    (sent,) = smtp_sink.wait_for(1)

    expected = {
        "From": "Demo Hotline <notices@hotline.example>", "To": "analyst@hotline.example",
        "Subject": "Notice bounced: Polder Hosting", "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All", "X-Notice-Reference": None,
    }  # fmt: skip
    assert policy_headers(stored) == policy_headers(sent) == expected
    assert stored["Message-ID"] == sent["Message-ID"] == mail.message_id
    assert sent["Date"] == stored["Date"] == "Wed, 04 Mar 2026 05:06:07 -0000"
    for message in (stored, sent):
        assert (message.get_content_type(), message.is_multipart()) == ("text/plain", False)
        assert message.get_content().splitlines() == ["Körper"]


def test_notice_style_mail_takes_no_suppress_header_and_keeps_html(smtp_sink):
    mail = new_mail(
        idstring="TN-2026-000001",
        subject="s",
        text="t\n",
        html="<p>t</p>\n",
        recipients=["abuse@polder.example"],
        now=NOW,
        headers={"X-Notice-Reference": "TN-2026-000001"},
    )

    stored = email.message_from_bytes(mail.as_bytes(), policy=email.policy.default)
    send(mail)
    (sent,) = smtp_sink.wait_for(1)

    for message in (stored, sent):
        assert (message["X-Auto-Response-Suppress"], message["X-Notice-Reference"]) == (
            None,
            "TN-2026-000001",
        )
        assert message.get_content_type() == "multipart/alternative"
        assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]


def test_render_templates_in_the_language_with_a_one_line_subject(db, make_provider):
    provider = make_provider(language="de")
    context = {
        "provider": provider,
        "link": "https://tracker.hotline.example/x",
        "hotline": "Demo Hotline",
        "invitation": None,
    }

    subject, text, html = render_templates(
        subject="notices/portal/mail/invitation_subject.txt",
        text="notices/portal/mail/invitation.txt",
        context=context,
        language="de",
    )
    english = render_templates(
        subject="notices/portal/mail/invitation_subject.txt",
        text="notices/portal/mail/invitation.txt",
        context=context,
        language="en",
    )

    assert "\n" not in subject and subject != english[0]
    assert "https://tracker.hotline.example/x" in text
    assert html is None
