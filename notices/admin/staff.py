"""Staff users and their roles (README "Roles"), on Django's own user and group pages.

A supervisor (`auth.change_user`) creates staff users, gives them their roles and resets their passwords.
It never grants superuser status or single permissions (those fields are not on its form), never changes a
superuser (view only), and never changes what a role may do: the role groups are view only for everyone but
superusers, and `sync_roles` (notices/services/roles.py) resets them to the role table at every migrate.
Each change of a user's roles writes the audit row `staff.roles`.
"""

from __future__ import annotations

from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group

from notices.admin.common import ActionPermissionsMixin, HostileInputMixin
from notices.services.roles import ROLES, record_role_change

# Only superusers hand these out (set-up).
SUPERUSER_FIELDS = {"is_superuser", "user_permissions"}


class StaffUserAdmin(ActionPermissionsMixin, HostileInputMixin, UserAdmin):
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


class RoleGroupAdmin(ActionPermissionsMixin, HostileInputMixin, GroupAdmin):
    """The role groups: what each role may do, shown; changed only in the role table (and by superusers,
    until the next migrate)."""
