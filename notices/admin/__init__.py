"""The analyst web admin: every model registered, with the actions analysts need."""

from django.contrib import admin as _admin
from django.contrib.auth import get_user_model as _get_user_model
from django.contrib.auth.models import Group as _Group

from notices.admin import (  # noqa: F401
    audit,
    cases,
    dashboard,
    escalation,
    holds,
    hosting,
    operations,
    portal,
    providers,
    templates,
)
from notices.admin.staff import RoleGroupAdmin as _RoleGroupAdmin
from notices.admin.staff import StaffUserAdmin as _StaffUserAdmin

# Django's own user and group pages: staff users and their roles (notices/admin/staff.py), with the same guard
# against hostile input (e.g. a garbage action selection) as every other page, audited changes,
# re-authentication before changes, and the second-factor reset.
for _model, _model_admin in ((_get_user_model(), _StaffUserAdmin), (_Group, _RoleGroupAdmin)):
    if _admin.site.is_registered(_model):
        _admin.site.unregister(_model)
    _admin.site.register(_model, _model_admin)
