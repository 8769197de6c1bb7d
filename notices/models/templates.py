"""Notice templates a supervisor edits in the admin; they win over the file templates in notices/mail/."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from notices.enums import NoticeType
from notices.models.choices import language_constraint


class NoticeTemplate(models.Model):
    """Subject and body of notice mails for one language, and one notice type or any (blank).

    Django template syntax, with the same context as the file templates (`notices.delivery.compose`).
    The most specific active template wins: language + type, then language + any type, then the files.
    """

    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    notice_type = models.CharField(
        max_length=24, choices=NoticeType.choices, blank=True, help_text="Blank: any notice type."
    )
    subject = models.TextField(help_text="One line; Django template syntax.")
    body = models.TextField(
        blank=True,
        help_text="The plain-text body; the HTML part wraps it. Django template syntax. "
        "An inactive draft may be empty; an active template must render a body.",
    )
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            # One active template per (language, type): composing a notice never has to choose between two.
            models.UniqueConstraint(
                fields=["language", "notice_type"],
                condition=models.Q(active=True),
                name="notice_template_one_active",
                violation_error_message="Another active template has this language and notice type.",
            ),
            language_constraint("language", "notice_template_language"),
        ]

    def __str__(self) -> str:
        return f"{self.get_language_display()} / {self.get_notice_type_display() or 'any type'}"
