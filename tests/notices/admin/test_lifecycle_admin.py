"""Cases, notices, provider responses, checks and notice items are never deleted in the admin — not by a
superuser either; cases are closed (and reopened) and notices withdrawn by actions that ask for a reason."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.test import RequestFactory
from django.urls import reverse

from notices.models import Check, Event, Notice, NoticeItem, ProviderQuestion, ProviderResponse, Url
from notices.services.notices import create_notices, queue_notice

pytestmark = pytest.mark.django_db

KEPT = [Url, Notice, ProviderResponse, ProviderQuestion, Check, NoticeItem]


@pytest.fixture
def superuser(admin_user):
    return admin_user


@pytest.fixture
def world(make_case, api_only, now):
    """A case in a sent notice (API pickup) with a provider question and a check: {model: an object}."""
    case = make_case(provider=api_only, when=now)
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=now)
    notice = queue_notice(notice=notice, now=now)
    question = ProviderResponse.objects.create(
        notice=notice, action="need_info", message="Which page?", created_at=now
    )
    check = Check.objects.create(url=case, checked_at=now, outcome="live", status_code=200)
    return {
        Url: case,
        Notice: notice,
        ProviderResponse: question,
        ProviderQuestion: ProviderQuestion.objects.get(pk=question.pk),
        Check: check,
        NoticeItem: notice.items.get(),
    }


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _admins_showing(model):
    """Every admin page and inline that shows `model`'s rows."""
    shown = [model_admin for m, model_admin in admin.site._registry.items() if m is model]
    for model_admin in admin.site._registry.values():
        shown += [
            inline(model_admin.model, admin.site) for inline in model_admin.inlines if inline.model is model
        ]
    return shown


@pytest.mark.parametrize("model", KEPT, ids=lambda m: m.__name__)
def test_no_admin_page_or_inline_deletes_it_even_for_a_superuser(model, superuser, world):
    request = _request(superuser)
    pages = _admins_showing(model)

    assert pages  # shown somewhere (NoticeItem: in its notice's page)
    for page in pages:
        assert page.has_delete_permission(request) is False
        assert page.has_delete_permission(request, world[model]) is False
        if isinstance(page, admin.ModelAdmin):
            assert "delete_selected" not in page.get_actions(request)
        else:
            assert page.can_delete is False


@pytest.mark.parametrize("model", [m for m in KEPT if m is not NoticeItem], ids=lambda m: m.__name__)
def test_a_superuser_cannot_delete_through_the_delete_page_or_delete_selected(model, admin_client, world):
    obj = world[model]
    info = model._meta.app_label, model._meta.model_name

    assert admin_client.get(reverse("admin:{}_{}_delete".format(*info), args=[obj.pk])).status_code == 403
    assert admin_client.post(reverse("admin:{}_{}_delete".format(*info), args=[obj.pk])).status_code == 403
    admin_client.post(
        reverse("admin:{}_{}_changelist".format(*info)),
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [obj.pk], "post": "yes"},
    )

    assert model.objects.filter(pk=obj.pk).exists()


def _action(client, changelist: str, action: str, objects, **data):
    return client.post(
        reverse(changelist), {"action": action, ACTION_CHECKBOX_NAME: [o.pk for o in objects], **data}
    )


def _close(client, case, **data):
    return _action(client, "admin:notices_url_changelist", "close_cases", [case], **data)


def _withdraw(client, notice, **data):
    return _action(client, "admin:notices_notice_changelist", "withdraw_notices", [notice], **data)


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_close_cases_asks_for_a_reason_on_a_page_of_its_own_then_closes(admin_client, world):
    case = world[Url]

    page = _close(admin_client, case)

    assert page.status_code == 200
    body = page.content.decode()
    assert "Close these cases" in body and 'value="reported_in_error"' in body
    assert Url.objects.get(pk=case.pk).status == "notified"  # nothing happens before the reason

    done = _close(
        admin_client, case, apply="yes", reason="out_of_remit", note="hosted for a research project"
    )

    assert done.status_code == 302
    case.refresh_from_db()
    assert case.status == "closed"
    event = Event.objects.get(url=case, kind="url.closed")
    assert (event.actor, event.data["reason"], event.data["note"]) == (
        "user:admin",
        "out_of_remit",
        "hosted for a research project",
    )
    assert Notice.objects.get(pk=world[Notice].pk).status == "withdrawn"  # its only case was closed


def test_close_cases_with_other_and_no_note_shows_the_form_again(admin_client, world):
    case = world[Url]

    page = _close(admin_client, case, apply="yes", reason="other")

    assert page.status_code == 200
    assert "Say why (required with the reason “other”)." in page.content.decode()
    assert Url.objects.get(pk=case.pk).status == "notified"


def test_close_cases_names_each_case_that_cannot_close(admin_client, world):
    case = world[Url]
    Url.objects.filter(pk=case.pk).update(status="removed")

    done = _close(admin_client, case, apply="yes", reason="duplicate")

    assert Url.objects.get(pk=case.pk).status == "removed"
    assert _messages(done) == [
        f"{case}: URL {case.pk} is removed; only a new, assessed or noticed case is closed."
    ]


def test_reopen_cases_brings_a_closed_case_back(admin_client, world):
    from django.utils import timezone

    from notices.services.lifecycle import close_case

    case = world[Url]
    close_case(url=case, reason="duplicate", now=timezone.now())

    done = _action(admin_client, "admin:notices_url_changelist", "reopen_cases", [case])

    assert done.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.closed_at) == ("notified", None)
    assert Event.objects.get(url=case, kind="url.reopened").actor == "user:admin"


def test_withdraw_notices_asks_for_a_reason_then_withdraws(admin_client, world):
    notice = world[Notice]

    page = _withdraw(admin_client, notice)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Withdraw these notices" in body
    assert 'value="wrong_provider"' in body and 'value="cases_closed"' not in body  # that one is the system's

    done = _withdraw(admin_client, notice, apply="yes", reason="wrong_provider")

    assert done.status_code == 302
    notice.refresh_from_db()
    assert notice.status == "withdrawn"
    assert Event.objects.get(notice=notice, kind="notice.withdrawn").actor == "user:admin"


def test_withdraw_notices_names_a_notice_already_withdrawn(admin_client, world):
    notice = world[Notice]
    Notice.objects.filter(pk=notice.pk).update(status="withdrawn")

    done = _withdraw(admin_client, notice, apply="yes", reason="sent_in_error")

    assert _messages(done) == [f"{notice}: Notice {notice} is withdrawn and cannot be withdrawn."]
    assert Event.objects.filter(kind="notice.withdrawn").count() == 0
