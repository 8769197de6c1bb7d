"""One door: a second provider never reaches the first's notice by any portal or provider-API route, id guess,
filter or download. Another provider's notice answers exactly like one that does not exist (404), and leaves
no trace in the audit log or the responses."""

from __future__ import annotations

import pytest

from notices.models import AuditEvent, ProviderResponse
from notices.services.keys import create_api_key

pytestmark = pytest.mark.django_db

GET_ROUTES = [
    "/portal/notices/{ref}/",
    "/portal/notices/{ref}/status.json",
    "/portal/notices/{ref}/xarf.json",
    "/portal/notices/{ref}/xarf/{url_id}.json",
    "/portal/notices/{ref}/urls.csv",
    "/portal/notices/{ref}/statements.json",
]
POST_ROUTES = [
    ("/portal/notices/{ref}/", {"action": "acknowledge"}),
    *[
        (f"/portal/notices/{{ref}}/respond/{a}/", {"message": "x"})
        for a in ("acknowledge", "removed", "not_our_customer", "need_info", "refused")
    ],
]
API_GET_ROUTES = [
    "/api/v1/provider/notices/{ref}/",
    "/api/v1/provider/notices/{ref}/statements/",
]


def _fill(route: str, notice) -> str:
    return route.format(ref=notice.reference, url_id=notice.items.values_list("url_id", flat=True)[0])


@pytest.mark.parametrize("route", GET_ROUTES)
def test_portal_get_of_other_providers_notice_is_404_like_unknown(
    other_client, sent_notice, other_sent_notice, route
):
    stranger = other_client.get(_fill(route, sent_notice))
    unknown = other_client.get(route.format(ref="TN-2099-999999", url_id=1))
    own = other_client.get(_fill(route, other_sent_notice))
    assert (stranger.status_code, unknown.status_code, own.status_code) == (404, 404, 200)
    assert not AuditEvent.objects.filter(object_id=sent_notice.reference).exists()


@pytest.mark.parametrize(("route", "data"), POST_ROUTES)
def test_portal_post_to_other_providers_notice_is_404(other_client, sent_notice, route, data):
    response = other_client.post(_fill(route, sent_notice), data)
    assert response.status_code == 404
    assert ProviderResponse.objects.count() == 0
    sent_notice.refresh_from_db()
    assert (sent_notice.status, sent_notice.acknowledged_at) == ("sent", None)


def test_portal_url_id_of_other_notice_under_own_reference_is_404(
    other_client, sent_notice, other_sent_notice
):
    stranger_url = sent_notice.items.values_list("url_id", flat=True)[0]
    response = other_client.get(f"/portal/notices/{other_sent_notice.reference}/xarf/{stranger_url}.json")
    assert response.status_code == 404


def test_portal_removed_naming_other_providers_url_is_refused(other_client, sent_notice, other_sent_notice):
    stranger_url = sent_notice.items.values_list("url_id", flat=True)[0]
    response = other_client.post(
        f"/portal/notices/{other_sent_notice.reference}/respond/removed/", {"urls": [str(stranger_url)]}
    )
    assert response.status_code == 400
    assert ProviderResponse.objects.count() == 0


def test_portal_guessed_references_find_only_own(other_client, sent_notice, other_sent_notice):
    year, number = sent_notice.reference.split("-")[1], int(sent_notice.reference.rsplit("-", 1)[1])
    found = []
    for n in range(max(number - 5, 1), number + 6):
        for reference in (f"TN-{year}-{n:06d}", f"tn-{year}-{n:06d}", f"TN-{year}-{n}"):
            if other_client.get(f"/portal/notices/{reference}/").status_code == 200:
                found.append(reference)
    assert found == [other_sent_notice.reference]


@pytest.mark.parametrize(
    "query",
    ["", "?view=all", "?view=past", "?status=sent", "?q=TN-", "?notice_type=hotline_notice", "?page=2"],
)
def test_portal_list_filters_never_widen(other_client, sent_notice, other_sent_notice, query):
    body = other_client.get(f"/portal/{query}").content.decode()
    assert sent_notice.reference not in body


def test_portal_keys_and_invitations_of_other_provider_are_404(
    other_client, desk_client, sent_notice, provider
):
    from notices.services.portal_accounts import invite_user

    key, _ = create_api_key(scope="provider", provider=provider, name="polder ticketing")
    invitation = invite_user(
        provider=provider,
        email="new@polder.example",
        is_admin=False,
        invited_by=None,
        now=sent_notice.created_at,
    ).invitation
    assert other_client.post(f"/portal/keys/{key.pk}/revoke/").status_code == 404
    assert other_client.post(f"/portal/team/invitations/{invitation.pk}/revoke/").status_code == 404
    key.refresh_from_db()
    invitation.refresh_from_db()
    assert (key.revoked_at, invitation.revoked_at) == (None, None)
    assert "polder ticketing" not in other_client.get("/portal/keys/").content.decode()
    assert "new@polder.example" not in other_client.get("/portal/team/").content.decode()


def test_portal_webhook_deliveries_stay_with_their_provider(other_client, sent_notice, provider, now):
    from notices.delivery.webhooks import enqueue_new_deliveries, register_webhook

    register_webhook(
        provider=provider, url="https://hooks.polder.example/in", created_by=None, now=sent_notice.created_at
    )
    assert enqueue_new_deliveries(now=now, limit=10) == 1
    body = other_client.get("/portal/webhook/").content.decode()
    assert sent_notice.reference not in body
    assert "hooks.polder.example" not in body


@pytest.mark.parametrize("route", API_GET_ROUTES)
def test_api_get_of_other_providers_notice_is_404(other_api_only, sent_notice, other_sent_notice, route):
    from rest_framework.test import APIClient

    _, plaintext = create_api_key(scope="provider", provider=other_api_only)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert api.get(_fill(route, sent_notice)).status_code == 404
    assert api.get(_fill(route, other_sent_notice)).status_code == 200
    listed = [n["reference"] for n in api.get("/api/v1/provider/notices/?status=sent").json()["results"]]
    assert listed == [other_sent_notice.reference]


def test_portal_user_of_no_provider_and_anonymous_get_nothing(client, django_user_model, sent_notice):
    assert client.get(f"/portal/notices/{sent_notice.reference}/").status_code == 302
    assert client.get(f"/portal/notices/{sent_notice.reference}/urls.csv").status_code == 302
    staff = django_user_model.objects.create_user("staffer", password="x-pass-12345", is_staff=True)
    client.force_login(staff)
    assert client.get(f"/portal/notices/{sent_notice.reference}/").status_code == 403
    assert client.get("/portal/").status_code == 403


def test_portal_member_who_is_not_admin_cannot_manage(client, make_portal_user, provider):
    member = make_portal_user("polder-member", provider)
    client.force_login(member)
    for route in ("/portal/team/", "/portal/keys/", "/portal/webhook/"):
        assert client.get(route).status_code == 403
    assert client.post("/portal/keys/", {"name": "x"}).status_code == 403
