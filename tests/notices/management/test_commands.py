"""`create_api_key` and `load_demo`: the commands INTERFACES.md and `make run` rely on."""

import io

import pytest
from django.core.management import CommandError, call_command

from notices.models import ApiKey, HostingProvider, Partner
from notices.services.keys import find_api_key


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_create_api_key_partner_prints_only_the_key_and_creates_the_partner():
    out, err = run("create_api_key", "--partner", "Hotline Example")

    key = out.strip()
    assert "\n" not in key and key.startswith("tt_")
    assert find_api_key(key).partner == Partner.objects.get(name="Hotline Example")
    assert "Created partner" in err
    assert ApiKey.objects.get().key_hash != key  # stored hashed


@pytest.mark.django_db
def test_create_api_key_provider_and_user_must_exist(provider, analyst, django_user_model):
    out, _ = run("create_api_key", "--provider", provider.slug)
    assert find_api_key(out.strip()).provider == provider
    out, _ = run("create_api_key", "--user", analyst.username)
    assert find_api_key(out.strip()).user == analyst
    with pytest.raises(CommandError, match="No hosting provider"):
        run("create_api_key", "--provider", "no-such-provider")
    django_user_model.objects.create_user("visitor", password="visitor-pass-123")
    with pytest.raises(CommandError, match="No active staff user"):
        run("create_api_key", "--user", "visitor")
    assert ApiKey.objects.count() == 2


@pytest.mark.django_db
def test_load_demo_is_idempotent_and_uses_reserved_names_only():
    run("load_demo")
    _, err = run("load_demo")

    assert "already loaded" in err
    assert HostingProvider.objects.count() == 4
    for provider in HostingProvider.objects.prefetch_related("contacts"):
        assert all(contact.email.endswith(".example") for contact in provider.contacts.all())
