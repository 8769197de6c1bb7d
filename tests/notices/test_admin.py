"""The analyst admin: every model's pages load, assessment and notice actions go through the services."""

import pytest
from django.contrib import admin
from django.urls import reverse

from notices.models import AuditEvent, Notice, OutgoingMessage, Url
from notices.services.intake import ReportInput, submit_report


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("chief", "chief@hotline.example", "chief-pass-123")
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_admin_every_model_changelist_and_add_page_answer(staff_client, make_case, provider, now):
    make_case(provider=provider, when=now)
    for model in admin.site._registry:
        if model._meta.app_label != "notices":
            continue
        info = (model._meta.app_label, model._meta.model_name)
        response = staff_client.get(reverse("admin:{}_{}_changelist".format(*info)))
        assert response.status_code == 200, model
        first = model.objects.first()
        if first is not None:
            assert (
                staff_client.get(reverse("admin:{}_{}_change".format(*info), args=[first.pk])).status_code
                == 200
            )


@pytest.mark.django_db
def test_admin_url_pages_show_only_defanged_url(staff_client, now):
    result = submit_report(item=ReportInput(url="http://files.polder.example/x.html"), now=now)
    page = staff_client.get(reverse("admin:notices_url_change", args=[result.url_id])).content.decode()
    listing = staff_client.get(reverse("admin:notices_url_changelist")).content.decode()
    for html in (page, listing):
        assert "hxxp://files[.]polder[.]example/x.html" in html
        assert "http://files.polder.example" not in html
    assert AuditEvent.objects.filter(action="url.view", object_id=str(result.url_id)).count() == 1


@pytest.mark.django_db
def test_admin_assess_records_assessment(staff_client, now):
    result = submit_report(item=ReportInput(url="http://files.polder.example/y.html"), now=now)
    url = reverse("admin:notices_url_assess", args=[result.url_id])
    assert staff_client.get(url).status_code == 200
    response = staff_client.post(
        url,
        {"legality": "illegal_international", "classification": "A2", "detection_method": "manual_review"},
    )
    assert response.status_code == 302
    case = Url.objects.get(pk=result.url_id)
    assert (case.status, case.current_assessment.classification) == ("assessed", "A2")


@pytest.mark.django_db
def test_admin_assess_illegal_without_classification_is_refused(staff_client, now):
    result = submit_report(item=ReportInput(url="http://files.polder.example/z.html"), now=now)
    response = staff_client.post(
        reverse("admin:notices_url_assess", args=[result.url_id]),
        {"legality": "illegal_international", "detection_method": "manual_review"},
    )
    assert response.status_code == 200
    assert "Required when the content is illegal." in response.content.decode()
    assert Url.objects.get(pk=result.url_id).status == "new"


@pytest.mark.django_db
def test_admin_create_and_send_notice_actions(staff_client, make_case, provider, now):
    case = make_case(provider=provider, when=now)
    response = staff_client.post(
        reverse("admin:notices_url_changelist"),
        {"action": "create_hotline_notices", "_selected_action": [case.pk]},
    )
    assert response.status_code == 302
    notice = Notice.objects.get()
    assert notice.status == "draft"
    staff_client.post(
        reverse("admin:notices_notice_changelist"),
        {"action": "send_notices", "_selected_action": [notice.pk]},
    )
    notice.refresh_from_db()
    assert notice.status == "queued"
    assert OutgoingMessage.objects.filter(notice=notice, recipients=["abuse@polder.example"]).count() == 1


@pytest.mark.django_db
def test_admin_dashboard_shows_queues_and_provider_ttr(staff_client, make_case, provider, now):
    from datetime import timedelta

    case = make_case(provider=provider, when=now - timedelta(hours=3))
    Url.objects.filter(pk=case.pk).update(
        status="removed",
        first_notice_sent_at=now - timedelta(hours=2),
        provider_at_notice=provider,
        removal_confirmed_at=now,
        ttr_low=3600,
        ttr_high=4000,
        country_at_notice="NL",
    )
    submit_report(item=ReportInput(url="http://files.polder.example/new.html"), now=now)
    page = staff_client.get(reverse("dashboard")).content.decode()
    assert "awaiting assessment" in page
    assert "60 min – 67 min" in page
    assert provider.name in page
    assert "Open the dashboard" in staff_client.get(reverse("admin:index")).content.decode()


@pytest.mark.django_db
def test_admin_dashboard_needs_staff(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_admin_routing_actions_refer_and_hand_off(staff_client, make_case, other_provider, now):
    from notices.models import Partner

    partner = Partner.objects.create(
        name="Bulgarian Hotline",
        country="BG",
        receives_handoffs=True,
        handoff_email="handoff@hotline-bg.example",
    )
    case = make_case("http://cdn.balkan.example/x.jpg", provider=other_provider, when=now)
    changelist = reverse("admin:notices_url_changelist")

    staff_client.post(changelist, {"action": "refer_to_police", "_selected_action": [case.pk]})
    staff_client.post(changelist, {"action": "hand_off_to_partner", "_selected_action": [case.pk]})

    case.refresh_from_db()
    assert case.le_referred_at is not None
    assert (case.handed_off_to, case.status) == (partner, "notified")
