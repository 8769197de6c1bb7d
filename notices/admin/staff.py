"""Staff users and their roles (README "Roles", "Staff sign-in"), on Django's own user and group pages.

A supervisor (`auth.change_user`) creates staff users, gives them their roles, resets their passwords and
resets another user's lost second factor (from the user's page or the user list). It never grants superuser
status or single permissions (those fields are not on its form), never changes a superuser (view only), and
never changes what a role may do: the role groups are view only for everyone but superusers, and `sync_roles`
(notices/services/roles.py) resets them to the role table at every migrate. Each change of a user's roles
writes the audit row `staff.roles`. Users, groups (roles) and API keys need a recent re-authentication to
change.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from notices.admin import staff_session
from notices.admin.common import ActionPermissionsMixin, AuditedChangesMixin, HostileInputMixin
from notices.admin.sign_in import reauth_redirect
from notices.services import second_factor
from notices.services.roles import ROLES, record_role_change

# Only superusers hand these out (set-up).
SUPERUSER_FIELDS = {"is_superuser", "user_permissions"}


class ReauthRequiredMixin:
    """Adding, changing or deleting these rows, and any action on them, first asks for the password and a code
    again, unless given within STAFF_REAUTH_WINDOW; the re-authentication page returns here. Someone who may
    only view is not asked."""

    def reauth_needed(self, request, may: bool) -> bool:
        return may and not staff_session.reauthenticated_recently(request.session, now=timezone.now())

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        may = self.has_add_permission(request) if object_id is None else self.has_change_permission(request)
        if self.reauth_needed(request, may):
            return reauth_redirect(request)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        if self.reauth_needed(request, self.has_delete_permission(request)):
            return reauth_redirect(request)
        return super().delete_view(request, object_id, extra_context)

    def changelist_view(self, request, extra_context=None):
        if self.reauth_needed(request, request.method == "POST"):  # an action, or list-editable rows
            return reauth_redirect(request)
        return super().changelist_view(request, extra_context)


class StaffUserAdmin(
    ReauthRequiredMixin, ActionPermissionsMixin, AuditedChangesMixin, HostileInputMixin, DjangoUserAdmin
):
    change_form_template = "admin/notices/user/change_form.html"
    actions = ["reset_second_factor"]

    def get_urls(self):
        return [
            path(
                "<id>/second-factor/reset/",
                self.admin_site.admin_view(self.reset_second_factor_view),
                name="auth_user_reset_second_factor",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        user = self.get_object(request, unquote(object_id))
        extra = {}
        if user is not None:
            extra = {
                "second_factor_on": second_factor.has_factor(user),
                "recovery_codes_left": second_factor.recovery_codes_left(user),
                "may_reset": user.pk != request.user.pk and self.has_change_permission(request, user),
            }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def user_change_password(self, request, id, form_url=""):
        if self.reauth_needed(request, self.has_change_permission(request)):
            return reauth_redirect(request)
        return super().user_change_password(request, id, form_url)

    def reset_second_factor_view(self, request, id):
        """Confirm, then reset: the user sets up a new factor at the next sign-in."""
        user = self.get_object(request, unquote(id))
        if user is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, id)
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        if self.reauth_needed(request, True):
            return reauth_redirect(request)
        change_url = reverse("admin:auth_user_change", args=[user.pk])
        if request.method == "POST":
            self._reset(request, user)
            return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Reset the second factor of {user.get_username()}",
            "opts": self.opts,
            "original": user,
            "change_url": change_url,
            "second_factor_on": second_factor.has_factor(user),
        }
        return TemplateResponse(request, "admin/notices/user/reset_second_factor.html", context)

    @admin.action(description="Reset the second factor of selected users", permissions=["change"])
    def reset_second_factor(self, request, queryset) -> None:
        with_factor = queryset.filter(portal_account__totp_enabled_at__isnull=False).order_by("pk")
        if not with_factor:
            self.message_user(request, "None of the selected users has a second factor.", messages.WARNING)
        for user in with_factor:
            self._reset(request, user)

    def _reset(self, request, user) -> None:
        try:
            second_factor.reset_factor(user, by=request.user, ip=request.META.get("REMOTE_ADDR"))
        except second_factor.FactorError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(
                request,
                f"The second factor of {user.get_username()} is reset: their sessions are over, and they set "
                "up a new one at their next sign-in.",
            )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f not in SUPERUSER_FIELDS]})
            for name, options in fieldsets
        ]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups" and not request.user.is_superuser:
            kwargs["queryset"] = Group.objects.filter(name__in=ROLES).order_by("name")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False  # its password or roles would be a way to its rights
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        if "groups" in form.changed_data:
            record_role_change(
                user=form.instance,
                actor=f"user:{request.user.get_username()}",
                ip=request.META.get("REMOTE_ADDR"),
            )


class RoleGroupAdmin(
    ReauthRequiredMixin, ActionPermissionsMixin, AuditedChangesMixin, HostileInputMixin, DjangoGroupAdmin
):
    """The role groups: what each role may do, shown; changed only in the role table (and by superusers,
    until the next migrate)."""
