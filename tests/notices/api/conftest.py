"""Fixtures for the REST API tests: key clients of every kind, and notices in each state."""

from __future__ import annotations

import pytest


@pytest.fixture
def key_client(db):
    """Factory: an APIClient carrying a fresh key (`client.key` is the ApiKey row)."""
    from rest_framework.test import APIClient

    from notices.services.keys import create_api_key

    def _make(**kwargs) -> APIClient:
        key, plaintext = create_api_key(**kwargs)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
        client.key = key
        client.plaintext = plaintext
        return client

    return _make
