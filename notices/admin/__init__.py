"""The analyst web admin: every model registered, with the actions analysts need."""

from django.contrib import admin as _admin

from notices.admin import cases, dashboard, hosting, operations, portal, providers, templates  # noqa: F401

_admin.site.site_header = "Takedown notice tracker"
_admin.site.site_title = "Takedown notice tracker"
_admin.site.index_title = "Analyst workspace"
