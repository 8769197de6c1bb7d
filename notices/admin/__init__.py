"""The analyst web admin: every model registered, with the actions analysts need."""

from notices.admin import cases, dashboard, operations, providers  # noqa: F401
