""" "Not our customer" in one place (notices/admin/disputes.py): the re-trace the provider is promised runs,
and the dispute page shows the suggested provider and offers re-trace, reassign, override and a notice to
the new provider."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from notices.infra import enqueue
from notices.models import HostingOverride, Notice, Url
from tests.conftest import staff_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """The tasks published (name, args), instead of the broker."""
    published = []
    monkeypatch.setattr(enqueue, "send", lambda name, *args, **options: published.append((name, args)))
    return published


@pytest.fixture
def disputed(
    make_case,
    make_notice,
    api_only,
    other_provider,
    now,
    provider_api,
    sent,
    django_capture_on_commit_callbacks,
):
    """A case noticed to Polder, which answers (by API) "not our customer", suggesting Balkan."""
    case = make_case("http://files.polder.example/not-ours.html", provider=api_only, when=now)
    notice = make_notice(case, now=now)
    body = {
        "action": "not_our_customer",
        "urls": [case.pk],
        "message": "Not hosted by us; the address moved.",
        "suggested_provider": "balkan (abuse@balkan.example)",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = provider_api.post(
            f"/api/v1/provider/notices/{notice.reference}/responses/", body, format="json"
        )
    assert response.status_code == 201, response.content
    case.refresh_from_db()
    return case


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_not_our_customer_queues_the_re_trace_the_portal_promises(disputed, sent):
    assert sent == [(enqueue.TRACE_URL, (disputed.pk,))]


def test_the_dispute_page_shows_the_suggestion_and_every_way_out(disputed, analyst, other_provider):
    client = _client(analyst)
    case_page = client.get(reverse("admin:notices_url_change", args=[disputed.pk])).content.decode()
    page_url = reverse("admin:notices_url_dispute", args=[disputed.pk])
    assert page_url in case_page  # the case page links it
    response = client.get(page_url)
    html = response.content.decode()
    assert "Not our customer" in html and "Not hosted by us; the address moved." in html
    assert "balkan (abuse@balkan.example)" in html  # the provider's own words
    assert response.context["suggestions"] == [other_provider]  # a known provider it names
    assert response.context["form"]["provider"].value() == other_provider.pk  # chosen for reassignment
    for offered in (
        "Re-trace now",
        "Reassign and re-trace",
        reverse("admin:notices_url_override", args=[disputed.pk]),
    ):
        assert offered in html
    assert "Create a draft notice" not in html  # still traced to the provider that disputed it


def test_re_trace_reassign_then_notify_the_new_provider(
    disputed, analyst, other_provider, sent, django_capture_on_commit_callbacks
):
    client = _client(analyst)
    page_url = reverse("admin:notices_url_dispute", args=[disputed.pk])
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page_url, {"do": "retrace"})
    assert response.status_code == 302 and "A new trace is queued" in " ".join(_messages(response))
    assert sent == [(enqueue.TRACE_URL, (disputed.pk,))]

    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page_url, {"do": "reassign", "provider": str(other_provider.pk), "note": ""})
    assert f"Reassigned to {other_provider}" in " ".join(_messages(response))
    override = HostingOverride.objects.get(url=disputed)
    assert (override.scope, override.provider) == ("url", other_provider)
    assert sent == [(enqueue.TRACE_URL, (disputed.pk,))]

    # The queued trace finds the override (done here by hand: the tests run no worker).
    Url.objects.filter(pk=disputed.pk).update(provider=other_provider)
    assert "Create a draft notice to Balkan Hosting" in client.get(page_url).content.decode()
    response = client.post(page_url, {"do": "notify"})
    notice = Notice.objects.get(provider=other_provider)
    assert response.status_code == 302 and response["Location"] == reverse(
        "admin:notices_notice_change", args=[notice.pk]
    )
    assert (notice.status, list(notice.items.values_list("url_id", flat=True))) == ("draft", [disputed.pk])


def test_bad_posts_and_readers(disputed, analyst):
    page_url = reverse("admin:notices_url_dispute", args=[disputed.pk])
    client = _client(analyst)
    refused = client.post(page_url, {"do": "reassign", "provider": "999999"})
    assert refused.status_code == 200 and refused.context["form"].errors["provider"]
    nothing = client.post(page_url, {"do": "notify"})
    assert "Reassign the case to another provider first." in _messages(nothing)
    auditor = _client(staff_with_role("auditor", "Auditor"))
    page = auditor.get(page_url)
    assert page.status_code == 200 and "Re-trace now" not in page.content.decode()
    assert auditor.post(page_url, {"do": "retrace"}).status_code == 403
