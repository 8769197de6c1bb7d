"""Portal forms in every language: wire formats of typed inputs, the error summary at the top, field limits
from the model, the one default statement of reasons (portal form and one-click), and providers whose stored
language or time zone is not valid."""

from __future__ import annotations

import inspect
import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django import forms as django_forms
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from notices.delivery.compose import one_click_token
from notices.models import HostingProvider, Invitation, PortalAccount, ProviderResponse
from notices.portal import forms as portal_forms
from notices.portal.access import PORTAL_LANGUAGES
from notices.services import sor

pytestmark = pytest.mark.django_db

# What each typed HTML input sends and must show, whatever the page's language (HTML's own formats).
WIRE = {
    "date": (date(2026, 3, 4), "2026-03-04"),
    "datetime-local": (datetime(2026, 3, 4, 5, 6), "2026-03-04T05:06"),
    "time": (time(5, 6), "05:06"),
    "number": (1234, "1234"),
}


def portal_form_classes() -> list[type[django_forms.BaseForm]]:
    return [
        cls
        for _, cls in inspect.getmembers(portal_forms, inspect.isclass)
        if issubclass(cls, django_forms.BaseForm) and cls.__module__ == portal_forms.__name__
    ]


def typed_fields() -> list[tuple[str, str, django_forms.Field]]:
    found = []
    for cls in portal_form_classes():
        for name, field in cls.base_fields.items():
            input_type = field.widget.attrs.get("type") or getattr(field.widget, "input_type", "")
            if input_type in WIRE:
                found.append((f"{cls.__name__}.{name}", input_type, field))
    return found


def test_the_wire_format_check_covers_the_statement_dates():
    names = {name for name, _, _ in typed_fields()}
    assert {"RemovedForm.content_date", "RemovedForm.application_date"} <= names


@pytest.mark.parametrize("language", PORTAL_LANGUAGES)
@pytest.mark.parametrize(
    ("name", "input_type", "field"), typed_fields(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_typed_inputs_render_and_parse_the_wire_format_in_every_language(language, name, input_type, field):
    value, wire = WIRE[input_type]
    with translation.override(language):
        html = field.widget.render("f", value)
        assert re.search(rf'value="{re.escape(wire)}"', html), (name, html)
        assert field.clean(wire) == value


def test_every_text_field_is_bounded_and_model_fields_keep_the_model_limit():
    unbounded, mismatched = [], []
    for cls in portal_form_classes():
        for name, field in cls.base_fields.items():
            text = isinstance(field, django_forms.CharField) and not isinstance(
                field.widget, django_forms.PasswordInput
            )
            if text and field.max_length is None:
                unbounded.append(f"{cls.__name__}.{name}")
            source = getattr(field, "source", None)
            if source is not None and field.max_length != source.max_length:
                mismatched.append((f"{cls.__name__}.{name}", field.max_length, source.max_length))
    assert unbounded == [] and mismatched == []
    assert (
        portal_forms.InviteForm.base_fields["email"].max_length
        == Invitation._meta.get_field("email").max_length
    )
    for name, limit in sor.TEXT_LIMITS.items():
        if name in portal_forms.RemovedForm.base_fields:
            assert portal_forms.RemovedForm.base_fields[name].max_length == limit, name


# --- Error summary and field limits on the pages ------------------------------------------------------------


def _summary(body: str) -> str:
    match = re.search(r'<div class="note warn error-summary"[^>]*>(.*?)</div>', body, re.S)
    assert match, "no error summary on the page"
    return match[1]


def _before_content(body: str, marker: str) -> bool:
    return body.index('id="error-summary"') < body.index(marker)


@pytest.mark.parametrize("language", PORTAL_LANGUAGES)
def test_invitation_with_an_address_longer_than_the_model_field_is_a_form_error(
    desk_client, provider, language
):
    provider.language = language
    provider.save(update_fields=["language"])
    limit = Invitation._meta.get_field("email").max_length
    address = "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".example"
    assert limit < len(address) <= 320
    response = desk_client.post("/portal/team/", {"email": address})
    assert response.status_code == 400
    body = response.content.decode()
    summary = _summary(body)
    assert 'href="#id_email"' in summary and str(limit) in summary
    assert _before_content(body, "<h1>")
    assert Invitation.objects.count() == 0 and mail.outbox == []


@pytest.mark.parametrize("language", PORTAL_LANGUAGES)
def test_removed_form_errors_are_summarised_at_the_top_in_every_language(
    desk_client, sent_notice, provider, language
):
    provider.language = language
    provider.save(update_fields=["language"])
    page = desk_client.get(f"/portal/notices/{sent_notice.reference}/")
    data = _as_browser_submits(page, "removed")
    data["decision_facts"] = ""
    data["content_date"] = ""
    response = desk_client.post(f"/portal/notices/{sent_notice.reference}/respond/removed/", data)
    assert response.status_code == 400
    body = response.content.decode()
    summary = _summary(body)
    with translation.override(language):
        title = translation.ngettext(
            "Please correct this problem:", "Please correct these %(n)s problems:", 2
        )
        required = translation.gettext("This field is required.")
        label = str(portal_forms.RemovedForm.base_fields["decision_facts"].label)
    assert title % {"n": 2} in summary
    assert f'<a href="#id_decision_facts">{label}: {required}</a>' in summary
    assert 'href="#id_content_date"' in summary
    # ... and each error also stands at its own field, after the field's input.
    for name in ("decision_facts", "content_date"):
        at_field = re.search(
            rf'id="id_{name}"[^>]*>(?:[^<]*</textarea>)?\s*<ul class="errorlist"[^>]*>(.*?)</ul>', body, re.S
        )
        assert at_field and required in at_field[1], name
    assert _before_content(body, "<h1>")
    assert f'lang="{language}"' in body
    assert ProviderResponse.objects.count() == 0


def test_non_field_errors_are_in_the_summary(client, desk, provider):
    """A username already taken comes back from the service as an error of the whole form."""
    from notices.services.portal_accounts import invite_user

    invite_user(
        provider=provider, email="new@polder.example", is_admin=False, invited_by=desk, now=timezone.now()
    )
    token = re.search(r"/portal/invitation/([^/\s]+)/", mail.outbox[-1].body)[1]
    response = client.post(
        f"/portal/invitation/{token}/",
        {"username": desk.username, "password1": "a-long-pass-2026", "password2": "a-long-pass-2026"},
    )
    assert response.status_code == 400
    summary = _summary(response.content.decode())
    assert "This username is taken; choose another." in summary and "<a " not in summary


def _as_browser_submits(page, action: str) -> dict:
    """The form's initial values as the page renders them (what a browser submits unchanged)."""
    form = page.context["forms"][action]
    data: dict = {}
    for bound in form:
        value = bound.value()
        if isinstance(bound.field.widget, django_forms.CheckboxInput):
            if value:
                data[bound.html_name] = "on"
        elif value not in (None, "", []):
            data[bound.html_name] = (
                bound.field.widget.format_value(value) if isinstance(value, date) else value
            )
    return data


# --- The default statement of reasons: portal form and one-click give the same ------------------------------


@pytest.mark.parametrize("language", PORTAL_LANGUAGES)
def test_one_click_removed_stores_the_statement_the_portal_prefills(
    client, desk_client, sent_notice, provider, language
):
    provider.language = language
    provider.time_zone = "Pacific/Kiritimati"  # UTC+14: the provider's date is often not UTC's
    provider.save(update_fields=["language", "time_zone"])
    page = desk_client.get(f"/portal/notices/{sent_notice.reference}/")
    rendered = page.content.decode()
    zone = ZoneInfo("Pacific/Kiritimati")
    today = timezone.localdate(timezone=zone).isoformat()
    assert f'name="application_date" value="{today}"' in rendered  # prefilled, and in the wire format
    assert (
        desk_client.post(
            f"/portal/notices/{sent_notice.reference}/respond/removed/", _as_browser_submits(page, "removed")
        ).status_code
        == 302
    )
    link = f"/portal/one-click/{one_click_token(sent_notice, 'removed')}/"
    assert client.get(link).status_code == 200
    assert client.post(link).status_code == 200
    portal, one_click = ProviderResponse.objects.order_by("pk")
    assert (portal.user is not None, one_click.user) == (True, None)
    assert one_click.statement_of_reasons == portal.statement_of_reasons
    statement = one_click.statement_of_reasons
    first_reported = min(i.url.first_reported_at for i in sent_notice.items.select_related("url"))
    assert statement["content_date"] == timezone.localdate(first_reported, timezone=zone).isoformat()
    assert statement["application_date"] == today
    assert statement["category"] == "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
    with translation.override(language):
        facts = translation.gettext("Removed after notice %(reference)s from %(hotline)s.")
    assert statement["decision_facts"].startswith(facts.split("%")[0])
    assert sor.validate_statement(statement) == statement


# --- A provider whose stored language or time zone is not valid ---------------------------------------------

BAD_ZONES = ["Mars/Olympus_Mons", "../../etc/passwd", "not a zone", "x" * 64, "Europe/"]
BAD_LANGUAGES = ["xx", "de-AT", "zz-fake", "../"]


def _store(model, pk, **values) -> bool:
    """Store a value the forms would refuse, bypassing them; False when the database itself refuses it."""
    try:
        with transaction.atomic():
            model.objects.filter(pk=pk).update(**values)
    except IntegrityError:
        return False
    return True


PROVIDER_PAGES = [
    "/portal/",
    "/portal/notices/{ref}/",
    "/portal/account/",
    "/portal/team/",
    "/portal/keys/",
    "/portal/webhook/",
    "/portal/notices/{ref}/status.json",
]


@pytest.mark.parametrize(("zone", "language"), list(zip(BAD_ZONES, BAD_LANGUAGES * 2, strict=False)))
def test_portal_falls_back_to_utc_and_english_for_invalid_stored_values(
    desk_client, client, desk, sent_notice, provider, zone, language
):
    stored = [
        _store(HostingProvider, provider.pk, time_zone=zone),
        _store(HostingProvider, provider.pk, language=language),
    ]
    account = PortalAccount.objects.get_or_create(user=desk)[0]
    stored.append(_store(PortalAccount, account.pk, language=language))
    assert any(stored), "the database refuses every bad value: nothing to fall back from"
    for path in PROVIDER_PAGES:
        response = desk_client.get(path.format(ref=sent_notice.reference))
        assert response.status_code == 200, path
        if path.endswith("/"):
            assert 'lang="en"' in response.content.decode(), path
    if stored[0]:
        assert "UTC" in desk_client.get("/portal/").content.decode()
    for action in ("acknowledge", "removed"):
        link = f"/portal/one-click/{one_click_token(sent_notice, action)}/"
        assert client.get(link).status_code == 200
        assert client.post(link).status_code == 200
    assert ProviderResponse.objects.get(action="removed").statement_of_reasons["content_date"]
