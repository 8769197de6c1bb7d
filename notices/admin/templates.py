"""Notice templates: a supervisor edits subject and body per language and type, checked and previewed here.

A template is compiled and rendered against a sample notice (reserved names only, built in memory, never
saved) before it is stored, so a syntax error is a field error on the form and never a broken mail.
"""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import re
from datetime import datetime

from csp.decorators import csp_update
from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template import TemplateSyntaxError
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from notices.admin.common import TrackerModelAdmin
from notices.delivery.compose import notice_context, render_db_template, render_notice
from notices.enums import Classification, NoticeType
from notices.models import Assessment, HostingProvider, Notice, NoticeItem, NoticeTemplate, Url
from notices.services.notices import deadline_for

# Reserved names and documentation addresses only (safety rule 5).
SAMPLE_URLS = ["http://files.example.example/gallery/1.html", "https://203.0.113.7/img/2.jpg"]


def sample_notice(*, language: str, notice_type: str, now: datetime) -> tuple[Notice, list[NoticeItem]]:
    """A notice to "Example Hosting" naming two URLs, with its items; nothing is written to the database."""
    notice_type = notice_type or NoticeType.HOTLINE_NOTICE
    provider = HostingProvider(
        name="Example Hosting",
        slug="example-hosting",
        country="NL",
        language=language,
        time_zone="Europe/Amsterdam",
    )
    notice = Notice(
        reference=f"TN-{now.year}-000000",
        provider=provider,
        notice_type=notice_type,
        language=language,
        created_at=now,
        deadline_at=deadline_for(notice_type, now),
    )
    assessment = Assessment(classification=Classification.A1, legal_basis="Sample: § 184b StGB")
    items = [
        NoticeItem(notice=notice, url=Url(canonical=u, current_assessment=assessment)) for u in SAMPLE_URLS
    ]
    return notice, items


_STYLE_ATTRIBUTE = re.compile(r"""\sstyle\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_STYLE_ELEMENT = re.compile(r"<style[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.DOTALL)


def style_hashes(html: str) -> list[str]:
    """CSP sources that allow exactly the inline styles of `html` (attributes and <style> elements)."""
    attributes = {html_lib.unescape(a or b) for a, b in _STYLE_ATTRIBUTE.findall(html)}
    elements = set(_STYLE_ELEMENT.findall(html))
    digests = sorted(
        "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"
        for text in attributes | elements
    )
    return ["'unsafe-hashes'", *digests] if attributes else digests


def render_sample(template: NoticeTemplate, *, now: datetime) -> tuple[str, str, str]:
    """(subject, text, HTML) of the sample notice rendered with `template`."""
    notice, items = sample_notice(language=template.language, notice_type=template.notice_type, now=now)
    return render_notice(notice, notice_context(notice, now=now, items=items), template=template)


def template_problem(
    source: str, *, language: str, notice_type: str, now: datetime, must_render: bool = False
) -> str | None:
    """Why `source` cannot be used as a notice template, or None: it must compile, render against the sample
    notice, and never show a reported URL as it is (only `item.defanged`); with `must_render` (an active
    template) it must also render to something other than whitespace."""
    notice, items = sample_notice(language=language, notice_type=notice_type, now=now)
    try:
        rendered = render_db_template(source, notice_context(notice, now=now, items=items))
    except TemplateSyntaxError as exc:
        return f"Template syntax error: {exc}"
    except Exception as exc:  # any failure to render is the supervisor's to fix, shown as such
        return f"The template does not render: {exc.__class__.__name__}: {exc}"
    if any(url in rendered for url in SAMPLE_URLS):
        return "The template shows a reported URL as it is; use {{ item.defanged }} (safety rule 2)."
    if must_render and not rendered.strip():
        return (
            "An active template must not render empty (it does for the sample notice). "
            "Save it as inactive to keep it as a draft."
        )
    return None


class NoticeTemplateForm(forms.ModelForm):
    class Meta:
        model = NoticeTemplate
        fields = ["language", "notice_type", "subject", "body", "active"]
        widgets = {
            "subject": forms.TextInput(attrs={"size": 100}),
            "body": forms.Textarea(attrs={"rows": 30, "cols": 110}),
        }

    def clean(self) -> dict:
        """Both parts must compile and render safely; an active template's parts must render non-empty (an
        inactive draft may be empty or unfinished in content, but never unsafe or broken)."""
        data = super().clean()
        active = bool(data.get("active"))
        for field in ("subject", "body"):
            if field in self.errors:
                continue
            source = data.get(field) or ""
            if not source.strip():
                if active:
                    self.add_error(
                        field, "An active template needs this; save it as inactive to keep a draft."
                    )
                continue
            problem = template_problem(
                source,
                language=data.get("language") or "en",
                notice_type=data.get("notice_type") or "",
                now=timezone.now(),
                must_render=active,
            )
            if problem:
                self.add_error(field, problem)
        return data


@admin.register(NoticeTemplate)
class NoticeTemplateAdmin(TrackerModelAdmin):
    form = NoticeTemplateForm
    list_display = ["__str__", "language", "notice_type", "active", "updated_at", "updated_by"]
    list_filter = ["language", "notice_type", "active"]
    readonly_fields = ["updated_at", "updated_by"]

    def save_model(self, request, obj: NoticeTemplate, form, change: bool) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("<int:pk>/preview/", preview, name="notices_noticetemplate_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request, pk: int):
        """The sample notice rendered with this template: subject, plain text and the HTML part."""
        template = get_object_or_404(NoticeTemplate, pk=pk)
        if not self.has_view_permission(request, template):
            raise PermissionDenied
        try:
            subject, text, html = render_sample(template, now=timezone.now())
        except Exception as exc:  # a template stored before it was checked: say why, as the editor would
            subject, text, html = "—", f"The template does not render: {exc.__class__.__name__}: {exc}", ""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": template,
            "title": f"Preview: {template}",
            "subject": subject,
            "text": text,
            "html": html,
        }
        # The HTML part is shown in a sandboxed srcdoc iframe, which runs under this page's policy: its inline
        # styles (the mail's own) are allowed by their hashes, nothing else is.
        view = TemplateResponse
        if html:
            view = csp_update({"style-src": style_hashes(html)})(view)
        return view(request, "admin/notices/noticetemplate/preview.html", context)
