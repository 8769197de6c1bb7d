"""The analyst web admin: every model registered, with the actions analysts need."""

from django.contrib import admin as _admin
from django.contrib.auth import get_user_model as _get_user_model
from django.contrib.auth.admin import GroupAdmin as _GroupAdmin
from django.contrib.auth.admin import UserAdmin as _UserAdmin
from django.contrib.auth.models import Group as _Group

from notices.admin import (  # noqa: F401
    cases,
    dashboard,
    escalation,
    hosting,
    operations,
    portal,
    providers,
    templates,
)
from notices.admin.common import HostileInputMixin as _HostileInputMixin

_admin.site.site_header = "Takedown notice tracker"
_admin.site.site_title = "Takedown notice tracker"
_admin.site.index_title = "Analyst workspace"


# Django's own user and group pages get the same guard against hostile input (e.g. a garbage action
# selection).
for _model, _base in ((_get_user_model(), _UserAdmin), (_Group, _GroupAdmin)):
    if _admin.site.is_registered(_model):
        _admin.site.unregister(_model)
    _admin.site.register(_model, type(_base.__name__, (_HostileInputMixin, _base), {"__module__": __name__}))
