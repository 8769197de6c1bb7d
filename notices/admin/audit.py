"""The audit log for auditors (browse, filter, export) and the retention settings for supervisors.

The log is view only for everyone, superusers included (the database refuses changes too: migration 0025).
Reading it needs `view_auditevent`; the CSV export of the filtered rows needs `export_auditevent` and is
itself audited (`audit.export`). Filters: user, case (URL id, also rows whose data lists it or that concern a
notice naming it), action (exact, or every action under a prefix ending in "."), object type, a date range.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, time, timedelta

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG, PAGE_VAR
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from notices.admin.common import RefusedFilter, SystemRecordAdmin, TrackerModelAdmin
from notices.infra.events import audit_request
from notices.models import AuditEvent, RetentionPolicy
from notices.selectors.audit import about_urls

EXPORT_PERMISSION = "notices.export_auditevent"
EXPORT_COLUMNS = ["at", "actor", "action", "object_type", "object_id", "ip", "data"]
# A cell a spreadsheet would run as a formula starts with one of these: such cells get a leading apostrophe.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class InputFilter(admin.ListFilter):
    """A sidebar filter with a text box (Django's filters offer links only). Subclasses say how a value
    filters (`filter`) and raise ValueError on a value that cannot (the page says the filter is wrong)."""

    template = "admin/notices/input_filter.html"
    parameter_name = ""
    input_type = "text"
    placeholder = ""

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        values = params.pop(self.parameter_name, [""])
        self.value = str(values[-1]).strip()
        if self.value:
            self.used_parameters[self.parameter_name] = self.value

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return [self.parameter_name]

    def choices(self, changelist):
        hidden = [
            (name, value)
            for name, values in changelist.filter_params.items()
            if name not in {self.parameter_name, PAGE_VAR, ERROR_FLAG}
            for value in values
        ]
        yield {
            "parameter_name": self.parameter_name,
            "value": self.value,
            "input_type": self.input_type,
            "placeholder": self.placeholder,
            "hidden": hidden,
            "clear_url": changelist.get_query_string(remove=[self.parameter_name]),
        }

    def queryset(self, request, queryset):
        if not self.value:
            return queryset
        try:
            return self.filter(queryset, self.value)
        except ValueError as exc:
            message = f"The filter “{self.title}” ({self.parameter_name}) cannot use that value: {exc}."
            raise RefusedFilter(self.parameter_name, message + " The list is shown without it.") from exc

    def filter(self, queryset, value: str):
        raise NotImplementedError


class ActorFilter(InputFilter):
    title = "user"
    parameter_name = "actor"
    placeholder = "user name, key:PREFIX, system"

    def filter(self, queryset, value):
        actor = value if ":" in value or value in {"system", "anonymous"} else f"user:{value}"
        return queryset.filter(actor=actor)


class CaseFilter(InputFilter):
    title = "case (URL id)"
    parameter_name = "case"
    placeholder = "URL id"

    def filter(self, queryset, value):
        url_id = int(value)
        if not 0 < url_id < 2**63:
            raise ValueError(f"no URL id {value}")
        return queryset.filter(about_urls([url_id]))


class ActionFilter(InputFilter):
    title = "action"
    parameter_name = "action"
    placeholder = "url.view, or admin. for all"

    def filter(self, queryset, value):
        if value.endswith("."):
            return queryset.filter(action__startswith=value)
        return queryset.filter(action=value)


class ObjectTypeFilter(InputFilter):
    title = "object type"
    parameter_name = "object_type"
    placeholder = "url, notice, user …"

    def filter(self, queryset, value):
        return queryset.filter(object_type=value.lower())


def _moment(value: str, *, end_of_day: bool) -> datetime:
    """A date (its start, or with `end_of_day` the next day's start) or a date-time; local time if naive."""
    try:
        day = parse_date(value)
        moment = parse_datetime(value) if day is None else None
    except ValueError:  # a well-formed but impossible date (2026-02-30)
        day = moment = None
    if day is not None:
        moment = datetime.combine(day + timedelta(days=1) if end_of_day else day, time())
    if moment is None:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD) or a date and time")
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


class SinceFilter(InputFilter):
    title = "from (date)"
    parameter_name = "since"
    input_type = "date"

    def filter(self, queryset, value):
        return queryset.filter(at__gte=_moment(value, end_of_day=False))


class UntilFilter(InputFilter):
    title = "until (date, inclusive)"
    parameter_name = "until"
    input_type = "date"

    def filter(self, queryset, value):
        return queryset.filter(at__lt=_moment(value, end_of_day=True))


class _Echo:
    """A file for csv.writer that hands each written line back (to stream it)."""

    def write(self, line: str) -> str:
        return line


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _csv_lines(rows):
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        data = json.dumps(row.data, sort_keys=True, ensure_ascii=False)
        values = [row.at.isoformat(), row.actor, row.action, row.object_type, row.object_id, row.ip, data]
        yield writer.writerow([_cell(value) for value in values])


@admin.register(AuditEvent)
class AuditEventAdmin(SystemRecordAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_id", "ip", "data"]
    list_filter = [ActorFilter, CaseFilter, ActionFilter, ObjectTypeFilter, SinceFilter, UntilFilter]
    search_fields = ["actor", "object_id"]
    ordering = ["-at", "-id"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
    show_full_result_count = False  # COUNT(*) over the whole log on every page is not worth it

    def get_urls(self):
        export = self.admin_site.admin_view(self.export_view)
        return [path("export/", export, name="notices_auditevent_export"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra = {
            "can_export": request.user.has_perm(EXPORT_PERMISSION),
            "export_url": reverse("admin:notices_auditevent_export") + "?" + request.GET.urlencode(),
        }
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    def export_view(self, request):
        """The rows the list's filters select, newest first, as CSV streamed row by row (any number of
        rows in constant memory). Writes `audit.export` with the filters and the number of rows first."""
        if not (self.has_view_permission(request) and request.user.has_perm(EXPORT_PERMISSION)):
            raise PermissionDenied
        changelist_url = reverse("admin:notices_auditevent_changelist")
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(changelist_url + f"?{ERROR_FLAG}=1")
        if getattr(request, "refused_list_parameters", None):  # the message says which; nothing is exported
            return HttpResponseRedirect(changelist_url + "?" + request.GET.urlencode())
        rows = changelist.get_queryset(request)
        filters = {name: values[-1] for name, values in request.GET.lists()}
        record = audit_request(
            request,
            action="audit.export",
            object_type="auditevent",
            data={"filters": filters, "rows": rows.count()},
        )
        response = StreamingHttpResponse(
            _csv_lines(rows.exclude(pk=record.pk).iterator(chunk_size=2000)), content_type="text/csv"
        )
        stamp = timezone.localtime(record.at).strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
        return response


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(TrackerModelAdmin):
    """One row: the retention periods (supervisors). Until a supervisor saves it the environment defaults
    apply, and the add page starts from them. Never deleted."""

    list_display = ["__str__", "purge_enabled", "updated_at"]
    fields = ["ended_cases_days", "not_illegal_days", "purge_enabled", "updated_at"]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request) -> bool:
        exists = RetentionPolicy.objects.filter(pk=RetentionPolicy.SINGLETON_ID).exists()
        return not exists and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        obj.pk = RetentionPolicy.SINGLETON_ID
        super().save_model(request, obj, form, change)
