"""The provider page's delivery channel: settings checked by the channel, API credentials write-only and
stored encrypted, never shown back."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from notices.infra.credentials import decrypt_credentials

ACCOUNT = "0123456789abcdef0123456789abcdef"
TOKEN = "cf-admin-token-7Gk2Lq9ZxVb3"
KEY = "dGVzdC1vbmx5LWNoYW5uZWwtY3JlZGVudGlhbHMtayE="
CONFIG = {"account_id": ACCOUNT, "reporter_name": "Hotline Desk", "reporter_email": "reports@hotline.example"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(client, django_user_model, settings):
    settings.CHANNEL_CREDENTIALS_KEY = KEY
    user = django_user_model.objects.create_user("chief", password="chief-pass-123", is_staff=True)
    from django.contrib.auth.models import Group

    user.groups.add(Group.objects.get(name="Supervisor"))
    client.force_login(user)
    return client


def form(provider, **changes) -> dict:
    data = {
        "slug": provider.slug,
        "name": provider.name,
        "country": provider.country,
        "language": provider.language,
        "time_zone": provider.time_zone,
        "channel": provider.channel,
        "org_handles": "[]",
        "removed_page_rules": "[]",
        "dispatch": provider.dispatch,
        "dispatch_interval": "60",
        "dispatch_hour": "9",
        "channel_config": json.dumps(provider.channel_config),
    }
    for prefix in ("contacts", "memberships"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(changes)
    return data


def change(client, provider, **changes):
    return client.post(
        reverse("admin:notices_hostingprovider_change", args=[provider.pk]), form(provider, **changes)
    )


def test_cloudflare_channel_is_saved_with_the_token_encrypted(supervisor, provider):
    response = change(
        supervisor,
        provider,
        channel="cloudflare",
        channel_config=json.dumps(CONFIG),
        credential_api_token=TOKEN,
    )
    assert response.status_code == 302
    provider.refresh_from_db()
    assert (provider.channel, provider.channel_config) == ("cloudflare", CONFIG)
    assert TOKEN not in provider.channel_credentials
    assert decrypt_credentials(provider.channel_credentials) == {"api_token": TOKEN}
    assert provider.channel_credentials_set_at is not None


def test_stored_token_is_never_shown_and_kept_when_left_empty(supervisor, provider):
    change(
        supervisor,
        provider,
        channel="cloudflare",
        channel_config=json.dumps(CONFIG),
        credential_api_token=TOKEN,
    )
    provider.refresh_from_db()
    stored = provider.channel_credentials
    page = supervisor.get(
        reverse("admin:notices_hostingprovider_change", args=[provider.pk])
    ).content.decode()
    assert TOKEN not in page and stored not in page
    assert "stored, encrypted" in page
    assert change(supervisor, provider, name="Polder Cloud").status_code == 302  # token field left empty
    provider.refresh_from_db()
    assert provider.channel_credentials == stored and provider.name == "Polder Cloud"


def test_channel_settings_errors_name_their_field(supervisor, provider):
    response = change(
        supervisor, provider, channel="cloudflare", channel_config=json.dumps({"account_id": "x1"})
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "account_id: A Cloudflare account id: 32 hexadecimal characters." in errors["channel_config"]
    assert "reporter_email: This setting is required for this channel." in errors["channel_config"]
    assert errors["credential_api_token"] == ["The API token is required for this channel."]
    provider.refresh_from_db()
    assert provider.channel == "email"


def test_aws_channel_needs_both_keys_and_a_known_region(supervisor, provider):
    response = change(
        supervisor,
        provider,
        channel="aws_abuse",
        channel_config='{"region": "mars-1"}',
        credential_access_key_id="AKIAIOSFODNN7EXAMPLE",
    )
    errors = response.context["adminform"].form.errors
    assert errors["channel_config"] == ["region: One of: us-east-1, us-west-2, eu-west-2."]
    assert errors["credential_secret_access_key"] == [
        "The AWS secret access key is required for this channel."
    ]


def test_credentials_without_a_key_in_the_environment_are_refused(supervisor, provider, settings):
    settings.CHANNEL_CREDENTIALS_KEY = ""
    response = change(
        supervisor,
        provider,
        channel="cloudflare",
        channel_config=json.dumps(CONFIG),
        credential_api_token=TOKEN,
    )
    assert response.status_code == 200
    assert "CHANNEL_CREDENTIALS_KEY is not set" in str(response.context["adminform"].form.non_field_errors())
    provider.refresh_from_db()
    assert provider.channel_credentials == ""


def test_clear_forgets_the_credentials(supervisor, provider):
    change(
        supervisor,
        provider,
        channel="cloudflare",
        channel_config=json.dumps(CONFIG),
        credential_api_token=TOKEN,
    )
    provider.refresh_from_db()
    assert change(supervisor, provider, channel="email", clear_credentials="on").status_code == 302
    provider.refresh_from_db()
    assert (provider.channel, provider.channel_credentials, provider.channel_credentials_set_at) == (
        "email",
        "",
        None,
    )
