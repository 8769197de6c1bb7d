"""Errors every layer may raise and every interface shows: the bottom of the import order (nothing here
imports the project)."""

from __future__ import annotations


class NoticeError(ValueError):
    """Field errors the caller shows as they are (`{"urls": ["…"]}`)."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors
