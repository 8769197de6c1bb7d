"""Fixtures for the channel tests: the credentials key, the providers' API mocks, a provider per channel."""

from __future__ import annotations

import pytest

from tests.notices.delivery.channels.mocks import AwsMock, CloudflareMock

CF_ACCOUNT = "0123456789abcdef0123456789abcdef"
CF_TOKEN = "cf-test-token-Sn3lZJTBX6kkg7OdcBUAx"
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
KEY = "dGVzdC1vbmx5LWNoYW5uZWwtY3JlZGVudGlhbHMtayE="  # a fixed test key: the worker processes get it too


@pytest.fixture(autouse=True)
def channel_settings(settings):
    """A credentials key, loopback allowed for the mocks, the documented outbox retry defaults."""
    settings.CHANNEL_CREDENTIALS_KEY = KEY
    settings.CHANNEL_ALLOW_PRIVATE_TARGETS = True
    settings.CHANNEL_TIMEOUT = 5
    settings.CHANNEL_POLL_INTERVAL = 900
    settings.OUTBOX_RETRY_BASE = 60
    settings.OUTBOX_MAX_ATTEMPTS = 12
    return settings


@pytest.fixture
def cloudflare_mock():
    mock = CloudflareMock(account_id=CF_ACCOUNT, token=CF_TOKEN).start()
    yield mock
    mock.stop()


@pytest.fixture
def aws_mock():
    mock = AwsMock(access_key_id=AWS_KEY_ID, secret_access_key=AWS_SECRET).start()
    yield mock
    mock.stop()


def set_channel(provider, channel: str, config: dict, credentials: dict) -> None:
    """Put `provider` on `channel` with these settings and (encrypted) credentials, as the admin form does."""
    from notices.infra.credentials import encrypt_credentials

    provider.channel = channel
    provider.channel_config = config
    provider.channel_credentials = encrypt_credentials(credentials) if credentials else ""
    provider.save()


@pytest.fixture
def cloudflare_provider(provider, cloudflare_mock):
    set_channel(
        provider,
        "cloudflare",
        {
            "account_id": CF_ACCOUNT,
            "reporter_name": "Hotline Analyst Desk",
            "reporter_email": "reports@hotline.example",
            "api_base": cloudflare_mock.api_base,
        },
        {"api_token": CF_TOKEN},
    )
    return provider


@pytest.fixture
def aws_provider(provider, aws_mock):
    set_channel(
        provider,
        "aws_abuse",
        {"region": "eu-west-2", "endpoint": aws_mock.base},
        {"access_key_id": AWS_KEY_ID, "secret_access_key": AWS_SECRET},
    )
    return provider
