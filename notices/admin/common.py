"""Helpers shared by admin pages: defanged URLs, badges, the project's admin base classes.

`TrackerModelAdmin` is the base of every admin page here: hostile input (garbage in an action's selection,
NUL characters in a search or filter, JSON with NUL characters, an unknown time zone) is a message or a
field error, never a server error, and an action is offered only to users holding a permission it names;
every change a person makes there (a save, a deletion, an action) writes an audit row with who, when and
from where (`AuditedChangesMixin`, also on Django's user and group pages). `SystemRecordAdmin` is the base
of the pages of records the system makes (checks, events, traces, responses, outbox, audit, inbound mail,
imports …): view only. Pages that show URLs write an audit row for each read (`AuditedReadsMixin`).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import (
    ALL_VAR,
    ERROR_FLAG,
    IS_FACETS_VAR,
    IS_POPUP_VAR,
    ORDER_VAR,
    PAGE_VAR,
    SEARCH_VAR,
    TO_FIELD_VAR,
)
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.utils.functional import cached_property
from django.utils.html import format_html

from notices.canonical import defang
from notices.infra.events import audit_request
from notices.models import Event, Url
from notices.models.choices import time_zone_choices, validate_time_zone
from notices.selectors.timeline import event_label, event_text

PURGED = "purged"


def defanged(value: str) -> str:
    return format_html('<span class="url">{}</span>', defang(value))


def url_shown(url: Url | None, value: str | None = None) -> str:
    """A case's URL (`value`: another string of it, e.g. a report's original), defanged; "purged" once the
    retention purge removed it."""
    if url is not None and url.purged_at is not None:
        return format_html('<span class="url purged">{}</span>', PURGED)
    return defanged(url.canonical if value is None else value)


def badge(value: str, label: str | None = None) -> str:
    return format_html('<span class="badge {}">{}</span>', value, label or value)


def _contains_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_contains_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    return False


def validate_json_storable(value) -> None:
    """PostgreSQL's jsonb cannot hold the NUL character (\\u0000) anywhere in a value."""
    if _contains_nul(value):
        raise ValidationError("The value contains a NUL character (\\u0000), which cannot be stored.")


def valid_pk(model, value: str) -> bool:
    """`value` is something the model's primary key can hold (a number in range for integer keys)."""
    field = model._meta.pk
    try:
        field.run_validators(field.to_python(value))
    except (ValidationError, ValueError, TypeError, OverflowError):
        return False
    return _storable(field, value)


def _without_nul(query):
    """A copy of a QueryDict with NUL characters removed from keys and values."""
    cleaned = query.copy()
    for key in list(cleaned.keys()):
        values = [v.replace("\x00", "") for v in cleaned.getlist(key)]
        del cleaned[key]
        cleaned.setlist(key.replace("\x00", ""), values)
    return cleaned


def _storable(field, value) -> bool:
    try:
        field.get_prep_value(field.to_python(value))
    except (ValidationError, ValueError, TypeError, OverflowError):
        return False
    return "\x00" not in str(value)


class _SafeAutocompleteMixin:
    """Django's autocomplete widget looks the submitted value up to render it again; a value the key cannot
    hold ("abc" for a number) raised there. Such a value is not looked up: the form shows its field error."""

    def optgroups(self, name, value, attr=None):
        remote = self.field.remote_field
        target = remote.model._meta.get_field(
            getattr(remote, "field_name", None) or remote.model._meta.pk.name
        )
        usable = [v for v in value if v in (None, "") or _storable(target, v)]
        return super().optgroups(name, usable, attr)


class SafeAutocompleteSelect(_SafeAutocompleteMixin, AutocompleteSelect):
    pass


class SafeAutocompleteSelectMultiple(_SafeAutocompleteMixin, AutocompleteSelectMultiple):
    pass


class SafeWidgetsMixin:
    """For ModelAdmin and inlines: autocomplete widgets that survive garbage."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.get_autocomplete_fields(request) and "widget" not in kwargs:
            kwargs["widget"] = SafeAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name in self.get_autocomplete_fields(request) and "widget" not in kwargs:
            kwargs["widget"] = SafeAutocompleteSelectMultiple(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class EmptyIsDefaultJSONField(forms.JSONField):
    """A JSON form field for a column that cannot be NULL: an empty input means the column's default."""

    def __init__(self, *, empty_default=None, **kwargs):
        self.empty_default = empty_default
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values and self.empty_default is not None:
            return self.empty_default()
        return super().to_python(value)


class HostileInputMixin(SafeWidgetsMixin):
    """Hostile input becomes a message or a field error (mixed into every ModelAdmin the site shows)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.CharField) and validate_time_zone in db_field.validators:
            return forms.TypedChoiceField(
                choices=time_zone_choices(),
                initial=db_field.get_default(),
                required=not db_field.blank,
                label=db_field.verbose_name.capitalize(),
                help_text=db_field.help_text,
            )
        if isinstance(db_field, models.JSONField) and not db_field.null and db_field.has_default():
            kwargs.setdefault("form_class", EmptyIsDefaultJSONField)
            kwargs.setdefault("empty_default", db_field.get_default)
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(db_field, models.JSONField) and field is not None:
            field.validators.append(validate_json_storable)
        return field

    def changelist_view(self, request, extra_context=None):
        if any("\x00" in key or "\x00" in value for key, value in request.GET.items()):
            request.GET = _without_nul(request.GET)
        return super().changelist_view(request, extra_context)

    def response_action(self, request, queryset):
        """Run an action on the selected rows that exist; a selection of garbage selects nothing."""
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        usable = [value for value in selected if valid_pk(self.model, value)]
        if len(usable) != len(selected):
            post = request.POST.copy()
            post.setlist(helpers.ACTION_CHECKBOX_NAME, usable)
            request.POST = post
            if not usable:
                self.message_user(request, "None of the selected items exist.", messages.WARNING)
                return None
        return super().response_action(request, queryset)


class ActionPermissionsMixin:
    """An admin action is offered to, and runs for, only the users holding one of the permissions it names
    (`@admin.action(permissions=[…])`, Django's rule: `has_<name>_permission`); an action naming none is
    offered to nobody, superusers included, so no action is open to every role by omission."""

    def get_actions(self, request):
        actions = super().get_actions(request)
        return {name: action for name, action in actions.items() if hasattr(action[0], "allowed_permissions")}


def _urls_of(model, ids: list) -> dict:
    """The audit data naming the rows an action touched: URL ids as `urls` (the auditor's case filter)."""
    return {"urls": [int(pk) for pk in ids]} if model is Url else {"ids": [str(pk) for pk in ids]}


class AuditedChangesMixin:
    """Every change made through the page writes an audit row (who, when, from where) next to Django's own
    LogEntry: `admin.add`, `admin.change` (the fields changed), `admin.delete`, and `admin.action.NAME` with
    the rows selected (URL ids as `urls`). Deletion through "delete selected" is logged as each
    `admin.delete`."""

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        audit_request(request, action="admin.add", obj=obj, data={"message": message})
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        audit_request(request, action="admin.change", obj=obj, data={"message": message})
        return entry

    def log_deletions(self, request, queryset):
        entries = super().log_deletions(request, queryset)
        for obj in queryset:
            audit_request(request, action="admin.delete", obj=obj, data={"repr": str(obj)[:200]})
        return entries

    def response_action(self, request, queryset):
        response = super().response_action(request, queryset)
        name = request.POST.get("action", "")
        if response is not None and name != "delete_selected" and name in self.get_actions(request):
            if request.POST.get("select_across") == "1":
                data = {"select_across": True, "filters": request.GET.urlencode()[:1000]}
            else:
                data = _urls_of(self.model, request.POST.getlist(helpers.ACTION_CHECKBOX_NAME))
            model = self.model._meta.model_name
            audit_request(request, action=f"admin.action.{name}", object_type=model, data=data)
        return response


class AuditedReadsMixin:
    """A page that shows URLs writes an audit row when it is read: the change page as `audit_read` (with
    `audit_read_data(obj)`), the list (when `audit_list` is set) with the URL ids on the page
    (`audit_list_urls(rows)`)."""

    audit_read = ""
    audit_list = ""

    def audit_read_data(self, obj) -> dict:
        return {}

    def audit_list_urls(self, rows) -> list[int]:
        return [row.pk for row in rows]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        obj = (getattr(response, "context_data", None) or {}).get("original")
        if request.method == "GET" and response.status_code == 200 and obj is not None:
            audit_request(request, action=self.audit_read, obj=obj, data=self.audit_read_data(obj))
        return response

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if self.audit_list and request.method == "GET" and changelist is not None:
            urls = self.audit_list_urls(changelist.result_list)
            audit_request(request, action=self.audit_list, object_type="url", data={"urls": urls})
        return response


class CappedPaginator(Paginator):
    """A paginator for tables of millions of rows: it counts at most COUNT_CAP + 1 rows (`SELECT count(*)
    FROM (… LIMIT n)`), so the list of a million cases costs what a list of ten thousand does; past the cap
    the page says "more than 10,000" and offers the pages up to it (filters and search narrow the rest)."""

    COUNT_CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.COUNT_CAP + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.COUNT_CAP

    @property
    def cap_label(self) -> str:
        return f"{self.COUNT_CAP:,}"


class RefusedFilter(IncorrectLookupParameters):
    """A list parameter the list cannot apply: `parameter` names it, the message says why."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter


class OfferedChoicesFilter(admin.SimpleListFilter):
    """The base of the project's link filters: a filter applies only the values it offers (`offered_values`,
    by default its lookups); any other value (a typo, an old link) is refused with a message naming it, where
    Django's SimpleListFilter would keep it and silently show the unfiltered list."""

    def offered_values(self) -> list[str]:
        return [str(value) for value, _label in self.lookup_choices]

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        value = self.value()
        offered = self.offered_values()
        if value not in (None, "") and value not in offered:
            shown = ", ".join(f"“{choice}”" for choice in offered[:12]) + (" …" if len(offered) > 12 else "")
            raise RefusedFilter(
                self.parameter_name,
                f"The filter “{self.title}” ({self.parameter_name}) has no choice “{value[:100]}”; it offers "
                f"{shown or 'none yet'}. The list is shown without it.",
            )


# Parameters of the list itself (search, ordering, page, popups), never filters.
LIST_PARAMETERS = {
    ALL_VAR,
    ERROR_FLAG,
    IS_FACETS_VAR,
    IS_POPUP_VAR,
    ORDER_VAR,
    PAGE_VAR,
    SEARCH_VAR,
    TO_FIELD_VAR,
}


def _filter_parameters(model_admin, request) -> tuple[set[str], set[str]]:
    """The list's filter parameters: exact names (custom filters) and field paths (a field filter's
    `provider__id__exact` starts with `provider`)."""
    names, fields = set(), set()
    for entry in model_admin.get_list_filter(request):
        if isinstance(entry, (list, tuple)):
            entry = entry[0]
        if isinstance(entry, str):
            fields.add(entry)
        elif getattr(entry, "parameter_name", None):
            names.add(entry.parameter_name)
    return names, fields


def _unknown_parameters(model_admin, request) -> list[str]:
    names, fields = _filter_parameters(model_admin, request)
    return [
        key
        for key in request.GET
        if key not in LIST_PARAMETERS
        and key not in names
        and not any(key == field or key.startswith(f"{field}__") for field in fields)
    ]


class RefusedParametersMixin:
    """A filter or parameter the list cannot apply is a message naming it (“there is no filter “bogus””),
    and the list is shown without it — not Django's bare redirect to `?e=1`, nor a silently ignored value."""

    def get_changelist_instance(self, request):
        try:
            return super().get_changelist_instance(request)
        except IncorrectLookupParameters as exc:
            if isinstance(exc, RefusedFilter):
                dropped, problem = [exc.parameter], str(exc)
            elif unknown := _unknown_parameters(self, request):
                dropped = unknown
                named = ", ".join(f"“{key[:100]}”" for key in unknown)
                problem = f"There is no filter {named} on this list. The list is shown without it."
            else:
                dropped = [key for key in request.GET if key not in LIST_PARAMETERS]
                problem = (
                    f"The filters could not be applied ({str(exc)[:300]}). The list is shown without them."
                )
            messages.error(request, problem)
            kept = request.GET.copy()
            for key in dropped:
                kept.pop(key, None)
            request.GET = kept
            request.refused_list_parameters = dropped  # an export must not run on the wider list
            return super().get_changelist_instance(request)


class TrackerModelAdmin(
    RefusedParametersMixin, ActionPermissionsMixin, AuditedChangesMixin, HostileInputMixin, admin.ModelAdmin
):
    """The project's ModelAdmin: hostile input becomes a message or a field error; a filter value or
    parameter the list cannot apply is a message naming it; actions need permissions; changes are audited;
    lists count at most CappedPaginator.COUNT_CAP rows."""

    paginator = CappedPaginator


class ViewOnly:
    """Shown, never added, changed or deleted from this page (admins and inlines alike)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class SystemRecordAdmin(ViewOnly, TrackerModelAdmin):
    """A record the system makes (observations, timelines, mail, imports): shown, never added, changed or
    deleted here. Actions the page offers (re-send, retry …) stay; Django's "delete selected" goes."""


class ReadOnlyInline(ViewOnly):
    """Inline that shows history rows; nothing is added, changed or deleted from here."""

    extra = 0
    can_delete = False
    show_change_link = False


class TimelineInline(ReadOnlyInline, admin.TabularInline):
    """A timeline (Event rows) in time order, each event in words; pages set `fields`."""

    model = Event
    ordering = ["at", "pk"]
    verbose_name_plural = "timeline"
    template = "admin/notices/edit_inline/tabular_unlabelled.html"  # the time and kind are columns

    @admin.display(description="Kind")
    def kind_label(self, obj: Event) -> str:
        return event_label(obj.kind)

    @admin.display(description="What happened")
    def what(self, obj: Event) -> str:
        return event_text(obj)
