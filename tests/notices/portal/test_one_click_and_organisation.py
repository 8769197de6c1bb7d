"""One-click links (GET confirms, POST acts, expiry, audit), API keys, the analyst's replies in the thread."""

from __future__ import annotations

import pytest
from django.core import mail, signing
from django.test import Client

from notices.delivery.compose import ONE_CLICK_SALT, one_click_token
from notices.models import AnalystReply, ApiKey, AuditEvent, Event, ProviderResponse

pytestmark = pytest.mark.django_db


def test_one_click_get_only_confirms_and_post_acts(client, sent_notice):
    link = f"/portal/one-click/{one_click_token(sent_notice, 'removed')}/"
    page = client.get(link)
    assert page.status_code == 200
    assert "Yes, it has been removed" in page.content.decode()
    assert ProviderResponse.objects.count() == 0  # a mail scanner's GET changes nothing
    done = client.post(link)
    assert done.status_code == 200
    assert ProviderResponse.objects.get().action == "removed"
    sent_notice.refresh_from_db()
    assert sent_notice.status == "acknowledged"
    assert list(AuditEvent.objects.order_by("pk").values_list("actor", "action")) == [
        ("one-click:polder", "notice.one_click.open"),
        ("one-click:polder", "notice.respond.removed"),
    ]


def test_one_click_tampered_expired_and_wrong_action(client, sent_notice, settings):
    token = one_click_token(sent_notice, "acknowledge")
    assert client.get(f"/portal/one-click/{token[:-2]}xx/").status_code == 404
    refused = signing.dumps({"n": sent_notice.reference, "a": "refused"}, salt=ONE_CLICK_SALT)
    assert client.post(f"/portal/one-click/{refused}/").status_code == 404
    settings.ONE_CLICK_LINK_MAX_AGE = -1
    assert client.get(f"/portal/one-click/{token}/").status_code == 410
    assert ProviderResponse.objects.count() == 0


def test_one_click_in_provider_language(client, sent_notice, provider):
    provider.language = "nl"
    provider.save(update_fields=["language"])
    body = client.get(f"/portal/one-click/{one_click_token(sent_notice, 'acknowledge')}/").content.decode()
    assert 'lang="nl"' in body


def test_api_key_created_in_portal_is_shown_once_and_works(desk_client, sent_notice):
    created = desk_client.post("/portal/keys/", {"name": "ticketing"})
    key_text = created.context["new_key"]
    assert key_text.startswith("tt_") and key_text in created.content.decode()
    assert created["Cache-Control"].startswith("no-store") or "no-store" in created["Cache-Control"]
    key = ApiKey.objects.get()
    assert (key.scope, key.provider_id, key.name) == ("provider", sent_notice.provider_id, "ticketing")
    assert key_text not in key.key_hash and key_text not in desk_client.get("/portal/keys/").content.decode()
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key_text}")
    assert api.get("/api/v1/provider/notices/").json()["results"][0]["reference"] == sent_notice.reference
    desk_client.post(f"/portal/keys/{key.pk}/revoke/")
    assert api.get("/api/v1/provider/notices/").status_code == 401
    assert [a for a in AuditEvent.objects.values_list("action", flat=True) if a.startswith("portal.")] == [
        "portal.api_key_created",
        "portal.api_key_revoked",
    ]


def test_need_info_thread_with_analyst_reply_from_admin(
    desk_client, sent_notice, django_user_model, django_capture_on_commit_callbacks
):
    desk_client.post(
        f"/portal/notices/{sent_notice.reference}/respond/need_info/", {"message": "Which file?"}
    )
    boss = django_user_model.objects.create_superuser("boss", "boss@hotline.example", "boss-pass-12345")
    admin = Client()
    admin.force_login(boss)
    queue = admin.get("/admin/notices/providerquestion/").content.decode()
    assert sent_notice.reference in queue and "Which file?" in queue
    form = admin.get(f"/admin/notices/analystreply/add/?notice={sent_notice.pk}").content.decode()
    assert "Which file?" in form
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/admin/notices/analystreply/add/", {"notice": sent_notice.pk, "body": "The one named b.html."}
        )
    assert response.status_code == 302
    reply = AnalystReply.objects.get()
    assert (reply.author, reply.body) == (boss, "The one named b.html.")
    assert Event.objects.filter(kind="notice.reply", notice=sent_notice).count() == 1
    assert mail.outbox[-1].to == ["polder-desk@desk.example"]
    assert "http" not in mail.outbox[-1].subject
    page = desk_client.get(f"/portal/notices/{sent_notice.reference}/")
    assert [(m.from_provider, m.body) for m in page.context["thread"]] == [
        (True, "Which file?"),
        (False, "The one named b.html."),
    ]
