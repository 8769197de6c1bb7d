"""URL page → "Dispute": a case a provider disputed, with everything needed to resolve it on one page.

Shows each disputed notice (provider, answers, the provider it suggested, the known providers that
suggestion may name) and the current trace; offers re-trace (a trace queued now), reassign (a URL override
to another provider, which re-traces), a link to the full override (host, prefix, AS), and, once the case's
provider is one that has not disputed it, a draft notice to that provider (its preview and Send follow).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from notices.admin.common import url_shown
from notices.admin.hosting import trace_chain_html
from notices.admin.lifecycle import refusal
from notices.enums import NoticeType
from notices.errors import NoticeError
from notices.hosting.overrides import create_override
from notices.infra import enqueue
from notices.infra.events import audit_request
from notices.models import HostingProvider, NoticeItem, Url
from notices.selectors.disputes import case_disputes, suggested_providers
from notices.services.notices import create_notices


class ReassignForm(forms.Form):
    provider = forms.ModelChoiceField(HostingProvider.objects.order_by("name"), help_text="Who hosts it.")
    note = forms.CharField(required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


def dispute_view(model_admin, request, pk: int):
    url = get_object_or_404(Url.objects.select_related("current_trace", "provider"), pk=pk)
    if not model_admin.has_view_or_change_permission(request, url):
        raise PermissionDenied
    disputes = case_disputes(url)
    disputed_by = [row["provider"].pk for row in disputes]
    form = ReassignForm(request.POST if request.POST.get("do") == "reassign" else None)
    if request.method == "POST":
        if not model_admin.has_change_permission(request, url):
            raise PermissionDenied
        done = _act(model_admin, request, url, form, disputed_by)
        if done is not None:
            return done
    suggestions = []
    for row in disputes:
        suggestions += [
            p for p in suggested_providers(row["suggested"], exclude=disputed_by) if p not in suggestions
        ]
    if not form.is_bound and suggestions:
        form.fields["provider"].initial = suggestions[0].pk
    # A re-trace that found the content with another provider noticed it already (notices follow hops).
    open_item = (
        NoticeItem.objects.filter(url=url, is_open=True, provider_id_copy=url.provider_id)
        .select_related("notice")
        .first()
        if url.provider_id and url.provider_id not in disputed_by
        else None
    )
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": Url._meta,
        "original": url,
        "title": f"Dispute: case {url.pk}",
        "url_defanged": url_shown(url),
        "trace_chain": trace_chain_html(url.current_trace),
        "disputes": disputes,
        "suggestions": suggestions,
        "form": form,
        "may_change": model_admin.has_change_permission(request, url),
        "new_provider": url.provider
        if url.provider_id and url.provider_id not in disputed_by and open_item is None
        else None,
        "open_notice": open_item.notice if open_item else None,
    }
    return TemplateResponse(request, "admin/notices/url/dispute.html", context)


def _act(model_admin, request, url: Url, form: ReassignForm, disputed_by: list[int]):
    """The page's POST (`do`: retrace, reassign, notify): the response, or None to show the page again."""
    do, now = request.POST.get("do"), timezone.now()
    here = reverse("admin:notices_url_dispute", args=[url.pk])
    if url.purged_at:
        model_admin.message_user(request, "This case was purged.", messages.ERROR)
    elif do == "retrace":
        enqueue.after_commit(enqueue.TRACE_URL, url.pk)
        audit_request(request, action="admin.dispute_retrace", obj=url, data={"urls": [url.pk]})
        model_admin.message_user(request, "A new trace is queued; this page shows it when it is done.")
    elif do == "reassign":
        if not form.is_valid():
            return None
        provider = form.cleaned_data["provider"]
        note = form.cleaned_data["note"] or "Reassigned after a dispute."
        actor = f"user:{request.user.get_username()}"
        create_override(
            url=url, scope="url", provider=provider, note=note, user=request.user, now=now, actor=actor
        )
        audit_request(request, action="admin.dispute_reassign", obj=url, data={"provider": provider.slug})
        model_admin.message_user(request, f"Reassigned to {provider}: override saved, a new trace is queued.")
    elif do == "notify":
        if url.provider_id is None or url.provider_id in disputed_by:
            model_admin.message_user(request, "Reassign the case to another provider first.", messages.ERROR)
            return redirect(here)
        try:
            with transaction.atomic():
                (notice,) = create_notices(
                    urls=[url], notice_type=NoticeType.HOTLINE_NOTICE, now=now, created_by=request.user
                )
        except NoticeError as exc:
            model_admin.message_user(request, refusal(exc), messages.ERROR)
            return redirect(here)
        model_admin.message_user(
            request, f"Draft notice {notice.reference} to {url.provider}: review and send it."
        )
        return redirect("admin:notices_notice_change", notice.pk)
    else:
        model_admin.message_user(request, "Choose re-trace, reassign or notify.", messages.ERROR)
    return redirect(here)
