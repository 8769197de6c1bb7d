"""Admin for the stretches a clock stands still and for removal orders.

- Holds and pauses (`ClockStop`): every law-enforcement hold and every pause, newest first, in force ones
  first by filter; actions clear the selected holds and end the selected pauses (the analyst answered). A
  hold is placed from the cases' page (the action "Law-enforcement hold").
- Removal orders: recorded on a removal-order notice (the add page: authority, reference, issue time,
  addressee, legal basis, the time it allows, when its clock starts), each with its clock in words and its
  pauses; actions pause the clock (clarification requested, force majeure) and let it run again.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils import timezone

from notices.admin.common import OfferedChoicesFilter, ReadOnlyInline, SystemRecordAdmin, TrackerModelAdmin
from notices.admin.escalation import DurationText
from notices.admin.lifecycle import each
from notices.enums import ClockStart, OrderPauseReason, StopKind
from notices.errors import NoticeError
from notices.models import ClockStop, OrderPause, RemovalOrder
from notices.services.holds import clear_hold, end_pauses
from notices.services.orders import clock, create_order, order_errors, pause_order, resume_order
from notices.templatetags.tracker import seconds


class InForceFilter(OfferedChoicesFilter):
    title, parameter_name = "in force", "in_force"

    def lookups(self, request, model_admin):
        return [("yes", "In force"), ("no", "Ended")]

    def queryset(self, request, queryset):
        lasting = ClockStop.objects.in_force(timezone.now()).values("pk")
        if self.value() == "yes":
            return queryset.filter(pk__in=lasting)
        if self.value() == "no":
            return queryset.exclude(pk__in=lasting)
        return queryset


@admin.register(ClockStop)
class ClockStopAdmin(SystemRecordAdmin):
    list_display = ["started_at", "kind", "url", "notice", "requester", "expires_at", "ended_at", "reason"]
    list_filter = [InForceFilter, "kind"]
    search_fields = ["requester", "notice__reference"]
    readonly_fields = [f.name for f in ClockStop._meta.fields]
    raw_id_fields = ["url", "notice"]
    ordering = ["-started_at"]
    actions = ["clear_holds", "end_selected_pauses"]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("notice")

    def has_work_permission(self, request) -> bool:
        """Clearing holds and ending pauses: the roles that work cases (change_clockstop)."""
        return request.user.has_perm("notices.change_clockstop")

    @admin.action(description="Clear the selected holds (notify again)", permissions=["work"])
    def clear_holds(self, request, queryset) -> None:
        def clear(stop: ClockStop) -> None:
            if stop.kind != StopKind.HOLD:
                raise NoticeError({"detail": ["This is a pause, not a hold."]})
            clear_hold(hold=stop, now=timezone.now(), user=request.user, note="cleared in the admin")

        each(self, request, queryset, clear, "Cleared {count} hold(s): waiting mails go out, ladders resume.")

    @admin.action(description="End the selected pauses (the analyst answered)", permissions=["work"])
    def end_selected_pauses(self, request, queryset) -> None:
        def end(stop: ClockStop) -> None:
            if stop.kind == StopKind.HOLD or stop.notice is None:
                raise NoticeError({"detail": ["This is a hold: clear it instead."]})
            if not end_pauses(
                notice=stop.notice, now=timezone.now(), user=request.user, note="ended in the admin"
            ):
                raise NoticeError({"detail": ["It has ended already."]})

        each(self, request, queryset, end, "Ended the pauses of {count} notice(s): the clocks run again.")


class OrderPauseInline(ReadOnlyInline, admin.TabularInline):
    model = OrderPause
    fields = ["reason", "note", "started_at", "ended_at", "started_by"]
    readonly_fields = fields
    verbose_name_plural = "pauses of the clock"


class RemovalOrderForm(forms.ModelForm):
    time_allowed = DurationText(
        required=False, help_text="From receipt, e.g. 1h, 24h; blank: the legal default (TCO: one hour)."
    )

    class Meta:
        model = RemovalOrder
        fields = [
            "notice",
            "authority",
            "reference",
            "issued_at",
            "addressee",
            "legal_basis",
            "legal_basis_detail",
            "time_allowed",
            "clock_starts",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "clock_starts" in self.fields:
            self.fields["clock_starts"].initial = ClockStart.DELIVERY

    def clean(self):
        data = super().clean()
        if self.errors or self.instance.pk:
            return data
        for name, problems in order_errors(
            now=timezone.now(), **{k: data.get(k) for k in ORDER_FIELDS}
        ).items():
            for problem in problems:
                self.add_error(name if name in self.fields else None, problem)
        return data


ORDER_FIELDS = RemovalOrderForm.Meta.fields


@admin.register(RemovalOrder)
class RemovalOrderAdmin(TrackerModelAdmin):
    form = RemovalOrderForm
    list_display = ["reference", "authority", "notice", "legal_basis", "received_at", "due_at", "clock_state"]
    list_filter = ["legal_basis", ("breached_at", admin.EmptyFieldListFilter)]
    search_fields = ["reference", "authority", "notice__reference"]
    raw_id_fields = ["notice"]
    inlines = [OrderPauseInline]
    actions = ["pause_for_clarification", "pause_for_force_majeure", "resume_clock"]
    show_full_result_count = False

    def get_inlines(self, request, obj=None):
        return [] if obj is None else self.inlines

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [*ORDER_FIELDS, "clock_in_words", "received_at", "due_at", "breached_at", "removed_at"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ORDER_FIELDS
        return self.get_readonly_fields(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # an order is a record of the authority's act

    def has_work_permission(self, request) -> bool:
        """Pausing and resuming a clock: the roles that work notices (change_removalorder)."""
        return request.user.has_perm("notices.change_removalorder")

    def save_model(self, request, obj, form, change) -> None:
        made = create_order(
            now=timezone.now(), user=request.user, **{k: form.cleaned_data[k] for k in ORDER_FIELDS}
        )
        obj.pk = made.pk

    @admin.display(description="Clock")
    def clock_state(self, obj: RemovalOrder) -> str:
        return clock_words(obj)

    @admin.display(description="Clock")
    def clock_in_words(self, obj: RemovalOrder) -> str:
        return clock_words(obj)

    def _pause(self, request, queryset, reason: str) -> None:
        now = timezone.now()
        each(
            self,
            request,
            queryset,
            lambda order: pause_order(order=order, reason=reason, now=now, user=request.user),
            f"Paused the clock of {{count}} order(s): {OrderPauseReason(reason).label.lower()}.",
        )

    @admin.action(description="Pause the clock: clarification requested", permissions=["work"])
    def pause_for_clarification(self, request, queryset) -> None:
        self._pause(request, queryset, OrderPauseReason.CLARIFICATION)

    @admin.action(description="Pause the clock: force majeure", permissions=["work"])
    def pause_for_force_majeure(self, request, queryset) -> None:
        self._pause(request, queryset, OrderPauseReason.FORCE_MAJEURE)

    @admin.action(description="Let the clock run again", permissions=["work"])
    def resume_clock(self, request, queryset) -> None:
        now = timezone.now()
        each(
            self,
            request,
            queryset,
            lambda order: resume_order(order=order, now=now, user=request.user),
            "The clock of {count} order(s) runs again.",
        )


def clock_words(order: RemovalOrder) -> str:
    """The order's clock in words: "running, 42 min left (due 2026-12-03 11:00 UTC)"."""
    state = clock(order, now=timezone.now())
    allowed = seconds(state["time_allowed_seconds"])
    if state["state"] == "breached":
        return f"breached at {order.breached_at:%Y-%m-%d %H:%M} UTC ({allowed} allowed)"
    if state["state"] == "removed in time":
        return "removed in time"
    if state["state"] == "superseded":
        return f"stopped {order.superseded_at:%Y-%m-%d %H:%M} UTC: every URL moved to another network"
    if state["state"] == "not received":
        return f"not received yet; {allowed} from {order.get_clock_starts_display().lower()}"
    left = seconds(max(state["remaining_seconds"], 0))
    if state["state"] == "paused":
        return f"paused ({state['paused']['reason'].replace('_', ' ')}), {left} left"
    return f"running, {left} left (due {order.due_at:%Y-%m-%d %H:%M} UTC)"
