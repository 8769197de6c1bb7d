"""Signals the services send for code above them to act on (the demo's web host, for one), so that no service
imports it."""

from __future__ import annotations

from django.dispatch import Signal

# A provider said URLs of a notice are removed (sent after commit). Arguments: notice, url_ids.
removal_reported = Signal()
