"""Selectors: every read the views, API and tasks share."""
