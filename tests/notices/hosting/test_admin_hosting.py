"""The URL page shows the trace chain and the override control; providers can be merged."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.urls import reverse

from notices.hosting.providers import merge_providers
from notices.hosting.tracer import trace_url
from notices.models import AuditEvent, HostingOverride, HostingProvider, HostingTrace, ProviderContact, Url

HOST = "files.polder.example"


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(
        django_user_model.objects.create_superuser("chief", "chief@hotline.example", "chief-pass-1")
    )
    return client


def test_url_page_shows_the_trace_chain_defanged(staff_client, dns_server, make_url, provider, now):
    dns_server.set_record("www.shop.example", "CNAME", HOST)
    dns_server.set_record(HOST, "A", ["198.51.100.10"])
    case = make_url("www.shop.example")
    trace_url(url=case, now=now)

    page = staff_client.get(reverse("admin:notices_url_change", args=[case.pk])).content.decode()

    assert "Trace chain (each source, in order)" in page
    assert '<td><span class="url">www[.]shop[.]example</span></td>' in page
    assert "files[.]polder[.]example" in page and "files.polder.example" not in page
    assert "<td>registry</td><td>198.51.100.0/25</td>" in page
    assert "Provider: <b>Polder Hosting</b> · country NL" in page
    assert reverse("admin:notices_url_override", args=[case.pk]) in page


def test_override_page_creates_the_override_and_queues_a_trace(
    staff_client, dns_server, make_url, provider, other_provider, now, django_capture_on_commit_callbacks
):
    dns_server.set_record(HOST, "A", ["198.51.100.10"])
    case = make_url(HOST)
    trace_url(url=case, now=now)
    path = reverse("admin:notices_url_override", args=[case.pk])

    assert staff_client.get(path).status_code == 200
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff_client.post(
            path,
            {
                "scope": "prefix",
                "provider": other_provider.pk,
                "country": "bg",
                "abuse_emails": "a@balkan.example, b@balkan.example",
                "note": "resold",
            },
        )

    assert response.status_code == 302
    override = HostingOverride.objects.get()
    assert (
        override.scope,
        str(override.prefix),
        override.provider,
        override.country,
        override.abuse_emails,
    ) == ("prefix", "198.51.100.0/25", other_provider, "BG", ["a@balkan.example", "b@balkan.example"])
    assert override.created_by.username == "chief"
    assert len(callbacks) == 1


def test_override_page_refuses_an_empty_override(staff_client, make_url):
    case = make_url(HOST)

    response = staff_client.post(reverse("admin:notices_url_override", args=[case.pk]), {"scope": "url"})

    assert response.status_code == 200
    assert "Give a provider, a country or abuse addresses." in response.content.decode()
    assert HostingOverride.objects.count() == 0


def test_merge_providers_moves_handles_contacts_cases_and_traces(make_provider, make_case, now):
    keep = make_provider("keep", prefix=None, org_handles=["ORG-K1-TEST"])
    gone = make_provider("gone", prefix=None, org_handles=["ORG-G1-TEST", "ORG-K1-TEST"])
    ProviderContact.objects.create(provider=gone, email="abuse@keep.example")
    case = make_case(provider=gone, when=now)
    Url.objects.filter(pk=case.pk).update(provider_at_notice=gone)

    merge_providers(target=keep, others=[gone], actor="user:chief")

    keep.refresh_from_db()
    assert keep.org_handles == ["ORG-K1-TEST", "ORG-G1-TEST"]
    assert sorted(keep.contacts.values_list("email", flat=True)) == [
        "abuse@gone.example",
        "abuse@keep.example",
    ]
    assert Url.objects.get(pk=case.pk).provider == keep
    assert HostingTrace.objects.get(url=case).provider == keep
    assert Url.objects.get(pk=case.pk).provider_at_notice == keep  # still counted, now against the target
    assert list(HostingProvider.objects.values_list("slug", flat=True)) == ["keep"]
    assert AuditEvent.objects.get(action="provider.merge").actor == "user:chief"


def test_merge_moves_every_reference_to_a_provider_hidden_ones_included(db):
    from notices.hosting.providers import provider_references

    moved = {(ref.related_model.__name__, ref.field.name) for ref in provider_references()}
    every = {
        (model.__name__, field.name)
        for model in apps.get_app_config("notices").get_models()
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is HostingProvider
    }
    assert {("Url", "provider_at_notice"), ("RemovalCycle", "provider_at_notice")} <= moved
    assert every <= moved


def test_merge_action_in_the_provider_admin(staff_client, make_provider):
    first, second = make_provider("first", prefix=None), make_provider("second", prefix=None)

    staff_client.post(
        reverse("admin:notices_hostingprovider_changelist"),
        {"action": "merge_selected_providers", "_selected_action": [first.pk, second.pk]},
    )

    assert list(HostingProvider.objects.values_list("slug", flat=True)) == ["first"]
