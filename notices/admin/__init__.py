"""The analyst web admin: every model registered, with the actions analysts need."""

from notices.admin import cases, operations, providers  # noqa: F401
