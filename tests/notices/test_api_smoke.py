"""A first pass over the API: a report becomes a case, is assessed, noticed and answered."""

import pytest


@pytest.mark.django_db
def test_report_create_new_url(partner_api):
    response = partner_api.post(
        "/api/v1/reports/", {"url": "HTTP://Files.Polder.EXAMPLE:80/a/../b.html#x"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["duplicate"] is False
    assert body["url"]["canonical"] == "http://files.polder.example/b.html"
    assert body["url"]["status"] == "new"
    again = partner_api.post("/api/v1/reports/", {"url": "http://files.polder.example/b.html"}, format="json")
    assert again.status_code == 201
    assert again.json()["duplicate"] is True
    assert again.json()["url"]["id"] == body["url"]["id"]


@pytest.mark.django_db
def test_notice_flow_through_api(staff_api, provider_api, other_provider_api, make_case, provider, now):
    case = make_case(provider=provider, when=now)
    created = staff_api.post(
        "/api/v1/notices/", {"urls": [case.pk], "notice_type": "hotline_notice"}, format="json"
    )
    assert created.status_code == 201, created.content
    reference = created.json()[0]["reference"]
    assert created.json()[0]["status"] == "draft"
    # drafts are invisible to the provider
    assert provider_api.get(f"/api/v1/provider/notices/{reference}/").status_code == 404
    provider.channel = "api_only"
    provider.save()
    sent = staff_api.post(f"/api/v1/notices/{reference}/send/")
    assert sent.status_code == 202, sent.content
    assert sent.json()["status"] == "sent"
    assert provider_api.get(f"/api/v1/provider/notices/{reference}/").status_code == 200
    assert other_provider_api.get(f"/api/v1/provider/notices/{reference}/").status_code == 404
    answer = provider_api.post(
        f"/api/v1/provider/notices/{reference}/responses/", {"action": "acknowledge"}, format="json"
    )
    assert answer.status_code == 201, answer.content
    stats = staff_api.get("/api/v1/stats/time-to-removal/?group_by=provider")
    assert stats.status_code == 200, stats.content
    assert stats.json()["groups"][0]["key"] == "polder"
    assert stats.json()["groups"][0]["count"] == 1
