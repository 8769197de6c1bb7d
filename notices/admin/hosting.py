"""Admin for the hosting trace: the trace chain on the URL page, overrides, registry imports, provider
merge."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from notices.admin.common import SystemRecordAdmin, TrackerModelAdmin, defanged, url_shown
from notices.hosting.overrides import create_override
from notices.hosting.providers import merge_providers
from notices.infra.events import audit_request
from notices.models import HostingOverride, HostingProvider, HostingTrace, RegistryImport, Url
from notices.models.choices import COUNTRY_CHOICES

# Trace sources whose query or answer names a host of the reported site: shown defanged (safety rule 2).
HOST_SOURCES = {"dns"}


def _value(value) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_value(v)}" for k, v in value.items())
    return "—" if value in (None, "") else str(value)


def trace_chain_html(trace: HostingTrace | None) -> str:
    """The current trace as a table: each source consulted, what was asked and what it answered, in order."""
    if trace is None:
        return "not traced yet"
    rows = []
    for source in trace.sources:
        answer = dict(source.get("answer") or {})
        query = source.get("query", "")
        if source.get("source") in HOST_SOURCES:
            query = defanged(query)
            answer["cnames"] = [defanged(c) for c in answer.get("cnames", [])]
        rows.append((source.get("source", ""), query, _value(answer)))
    body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
    summary = format_html(
        "<p>Provider: <b>{}</b> · country {} ({}) · AS{} · org {} · LIR {} · origin AS org {}{}{}</p>",
        trace.provider or "unknown",
        trace.country or "unknown",
        trace.country_source or "—",
        trace.asn or "?",
        trace.org_handle or "—",
        trace.allocation_holder or "—",
        trace.origin_as_org or "—",
        format_html(" · <b>behind {}: origin unknown</b>", trace.intermediary or "an intermediary")
        if trace.origin_unknown
        else "",
        format_html(" · override #{} applied", trace.override_id) if trace.override_id else "",
    )
    table = format_html(
        "<table><thead><tr><th>source</th><th>query</th><th>answer</th></tr></thead>"
        "<tbody>{}</tbody></table>",
        body,
    )
    return format_html("{}{}", summary, table)


class CountryField(forms.ChoiceField):
    """A country code from the ISO 3166-1 table, in any case ("bg" is BG)."""

    def to_python(self, value):
        return super().to_python(value).strip().upper()


class OverrideForm(forms.Form):
    scope = forms.ChoiceField(
        choices=HostingOverride.Scope.choices,
        initial="url",
        help_text="This URL, its host, the traced prefix or the origin AS.",
    )
    provider = forms.ModelChoiceField(
        HostingProvider.objects.all(),
        required=False,
        help_text="The hosting provider (the origin behind a CDN).",
    )
    country = CountryField(
        choices=[("", "— keep the traced country —"), *COUNTRY_CHOICES],
        required=False,
        help_text="ISO 3166-1 alpha-2.",
    )
    abuse_emails = forms.CharField(
        required=False, help_text="Comma-separated; empty: the provider's contacts."
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_abuse_emails(self) -> list[str]:
        addresses = [a.strip() for a in self.cleaned_data["abuse_emails"].split(",") if a.strip()]
        for address in addresses:
            forms.EmailField(max_length=254).clean(address)
        return addresses

    def clean(self):
        data = super().clean()
        if not (data.get("provider") or data.get("country") or data.get("abuse_emails")):
            raise forms.ValidationError("Give a provider, a country or abuse addresses.")
        return data


def override_view(model_admin: admin.ModelAdmin, request, pk: int):
    """URL page → "Override hosting": an override for this URL / host / prefix / ASN, then a re-trace."""
    url = get_object_or_404(Url.objects.select_related("current_trace"), pk=pk)
    if not model_admin.has_change_permission(request, url):
        raise PermissionDenied
    if url.purged_at:
        return redirect("admin:notices_url_change", pk)
    form = OverrideForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():  # a refused row leaves the request's transaction usable
                create_override(
                    url=url,
                    user=request.user,
                    now=timezone.now(),
                    actor=f"user:{request.user.get_username()}",
                    **form.cleaned_data,
                )
        except ValidationError as exc:  # what the override would hold is not valid (e.g. the trace's prefix)
            form.add_error("scope", exc.messages)
        except ValueError as exc:
            form.add_error("scope", str(exc))
        else:
            audit_request(
                request, action="admin.override", obj=url, data={"scope": form.cleaned_data["scope"]}
            )
            model_admin.message_user(request, "Override saved; a new trace is queued.")
            return redirect("admin:notices_url_change", pk)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": Url._meta,
        "original": url,
        "form": form,
        "title": "Override hosting",
        "url_defanged": url_shown(url),
        "trace_chain": trace_chain_html(url.current_trace),
    }
    return TemplateResponse(request, "admin/notices/url/override.html", context)


@admin.action(description="Merge the selected providers into the oldest one", permissions=["merge"])
def merge_selected_providers(model_admin, request, queryset) -> None:
    providers = list(queryset.order_by("pk"))
    if len(providers) < 2:
        model_admin.message_user(request, "Select two or more providers to merge.", level=messages.WARNING)
        return
    merge_providers(target=providers[0], others=providers[1:], actor=f"user:{request.user.get_username()}")
    model_admin.message_user(request, f"Merged {len(providers) - 1} provider(s) into {providers[0]}.")


@admin.register(HostingOverride)
class HostingOverrideAdmin(TrackerModelAdmin):
    list_display = [
        "id",
        "scope",
        "url",
        "host",
        "prefix",
        "asn",
        "provider",
        "country",
        "created_by",
        "created_at",
    ]
    list_filter = ["scope"]
    search_fields = ["host", "provider__name", "note"]
    autocomplete_fields = ["provider"]
    raw_id_fields = ["url"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request, obj, form, change) -> None:
        obj.created_by = obj.created_by or request.user
        super().save_model(request, obj, form, change)


@admin.register(RegistryImport)
class RegistryImportAdmin(SystemRecordAdmin):
    list_display = ["id", "dataset", "status", "data_time", "started_at", "finished_at", "counts"]
    list_filter = ["dataset", "status"]
    readonly_fields = [f.name for f in RegistryImport._meta.fields]
