"""Fixtures for the tracer tests: URL cases by host, and providers with prefixes in 203.0.113.0/24."""

from __future__ import annotations

import pytest


@pytest.fixture
def make_url(db, now):
    """Factory: a reported URL case on `host` (no assessment, no trace)."""
    from notices.models import Url
    from notices.services.intake import ReportInput, submit_report

    def _make(host: str, path: str = "/a.html"):
        result = submit_report(item=ReportInput(url=f"http://{host}{path}"), now=now)
        return Url.objects.get(pk=result.url_id)

    return _make


@pytest.fixture
def make_prefix(db):
    """Factory: a RoutingPrefix row (registry data by default)."""
    from notices.models import RoutingPrefix

    def _make(prefix: str, *, source="registry", asn=None, country="", provider=None, org_name="", **extra):
        return RoutingPrefix.objects.create(
            prefix=prefix,
            source=source,
            asn=asn,
            country=country,
            provider=provider,
            org_name=org_name,
            **extra,
        )

    return _make
