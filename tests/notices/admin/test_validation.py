"""Field validation behind the admin pages: CIDRs, regular expressions, countries, languages, time zones,
notice templates, and the view-only pages of system records."""

from __future__ import annotations

import importlib
import ipaddress

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from notices.admin.common import SystemRecordAdmin
from notices.hosting.rules import country_code
from notices.models import (
    AuditEvent,
    Check,
    Escalation,
    Event,
    HostingOverride,
    HostingProvider,
    HostingTrace,
    InboundMessage,
    Notice,
    NoticeTemplate,
    OutgoingMessage,
    Partner,
    PortalAccount,
    ProviderQuestion,
    ProviderResponse,
    RegistryImport,
    Report,
    RoutingPrefix,
    WebhookDelivery,
)
from notices.models.choices import COUNTRIES, ISO_COUNTRIES
from notices.models.fields import parse_cidr

BAD_CIDRS = [
    "10.0.0.0/33",
    "hello",
    "10.0.0.1/8",
    "2001:db8::1/32",
    "::1/129",
    "",
    "198.51.100.0/24/1",
    "1" * 100,
]


@pytest.fixture
def supervisor(client, django_user_model):
    user = django_user_model.objects.create_superuser("chief", "chief@hotline.example", "chief-pass-123")
    client.force_login(user)
    return client


# --- 1. system records are view only ------------------------------------------------------------------------

SYSTEM_RECORDS = [
    Check,
    Event,
    Escalation,
    HostingTrace,
    ProviderResponse,
    ProviderQuestion,
    OutgoingMessage,
    AuditEvent,
    InboundMessage,
    RegistryImport,
    WebhookDelivery,
    Report,
]


@pytest.mark.django_db
@pytest.mark.parametrize("model", SYSTEM_RECORDS, ids=lambda m: m.__name__)
def test_system_records_are_view_only(supervisor, model, rf):
    model_admin = admin.site._registry[model]
    assert isinstance(model_admin, SystemRecordAdmin)
    request = rf.get("/")
    request.user = get_user_model().objects.get(username="chief")
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, None)
    assert not model_admin.has_delete_permission(request, None)
    assert "delete_selected" not in model_admin.get_actions(request)
    info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    assert supervisor.get(reverse(f"{info}_add")).status_code == 403
    assert supervisor.post(reverse(f"{info}_add"), {}).status_code == 403
    assert supervisor.get(reverse(f"{info}_changelist")).status_code == 200


# --- 2. CIDRs and regular expressions -----------------------------------------------------------------------


@pytest.mark.parametrize("value", BAD_CIDRS)
def test_parse_cidr_rejects_what_is_not_a_network(value):
    with pytest.raises(ValidationError):
        parse_cidr(value)


def test_parse_cidr_host_bits_name_the_network():
    with pytest.raises(ValidationError) as error:
        parse_cidr("10.0.0.1/8")
    assert "10.0.0.0/8" in error.value.messages[0]
    assert parse_cidr(" 198.51.100.0/24 ") == ipaddress.ip_network("198.51.100.0/24")
    assert parse_cidr("2001:db8::/32") == ipaddress.ip_network("2001:db8::/32")
    assert parse_cidr("203.0.113.7") == ipaddress.ip_network("203.0.113.7/32")


@pytest.mark.django_db
@pytest.mark.parametrize("value", BAD_CIDRS)
def test_routing_prefix_and_override_validate_the_prefix_in_the_model(value):
    with pytest.raises(ValidationError) as error:
        RoutingPrefix(prefix=value, source="registry").full_clean()
    assert "prefix" in error.value.message_dict
    if not value:
        return  # the override's prefix may be blank (other scopes): the scope constraint covers that
    with pytest.raises(ValidationError) as error:
        HostingOverride(scope="prefix", prefix=value).full_clean()
    assert "prefix" in error.value.message_dict


@pytest.mark.django_db
@pytest.mark.parametrize("value", BAD_CIDRS[:4])
def test_admin_routing_prefix_form_shows_the_cidr_error_at_the_field(supervisor, value):
    response = supervisor.post(
        reverse("admin:notices_routingprefix_add"),
        {"prefix": value, "source": "registry", "abuse_emails": "[]"},
    )
    assert response.status_code == 200
    assert "prefix" in response.context["adminform"].form.errors
    assert not RoutingPrefix.objects.exists()


@pytest.mark.django_db
def test_admin_override_form_scope_mismatch_is_a_form_error(supervisor):
    url = reverse("admin:notices_hostingoverride_add")
    response = supervisor.post(url, {"scope": "url", "host": "", "abuse_emails": "[]"})
    assert response.status_code == 200
    assert "Set exactly the field of the scope" in response.content.decode()
    response = supervisor.post(url, {"scope": "prefix", "prefix": "10.0.0.1/8", "abuse_emails": "[]"})
    assert "has host bits set" in str(response.context["adminform"].form.errors["prefix"])
    response = supervisor.post(url, {"scope": "asn", "asn": "99999999999", "abuse_emails": "[]"})
    assert "asn" in response.context["adminform"].form.errors
    response = supervisor.post(url, {"scope": "prefix", "prefix": "2001:db8::/32", "abuse_emails": "[]"})
    assert response.status_code == 302
    assert str(HostingOverride.objects.get().prefix) == "2001:db8::/32"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "rules",
    [
        [{"final_url": "("}],
        [{"final_url": "[a-"}],
        [{"final_url": ""}],
        [{"status": "200", "final_url": "/gone"}],
        [{"status": 999, "final_url": "/gone"}],
        [{"final_url": "/gone", "extra": 1}],
        ["/gone"],
        {"final_url": "/gone"},
    ],
)
def test_removed_page_rules_are_validated(make_provider, rules):
    provider = make_provider()
    provider.removed_page_rules = rules
    with pytest.raises(ValidationError) as error:
        provider.full_clean()
    assert "removed_page_rules" in error.value.message_dict


@pytest.mark.django_db
def test_admin_provider_invalid_regex_is_a_field_error(supervisor, make_provider):
    provider = make_provider()
    response = supervisor.post(
        reverse("admin:notices_hostingprovider_change", args=[provider.pk]),
        _provider_form(provider, removed_page_rules='[{"status": 200, "final_url": "(gone"}]'),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["removed_page_rules"]
    assert "Not a valid regular expression" in str(errors)
    provider.refresh_from_db()
    assert provider.removed_page_rules == []


# --- 3. countries, languages, time zones --------------------------------------------------------------------


def _provider_form(provider, **changes) -> dict:
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
    }
    for prefix in ("contacts", "memberships"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(changes)
    return data


def test_country_table_is_iso_3166_alpha_2_plus_kosovo():
    assert len(ISO_COUNTRIES) == 249
    assert all(len(code) == 2 and code.isupper() for code in COUNTRIES)
    assert set(COUNTRIES) - set(ISO_COUNTRIES) == {"XK"}
    for unknown in ("EU", "ZZ", "AP", "UK", "XX"):
        assert unknown not in COUNTRIES


@pytest.mark.parametrize(("raw", "code"), [("nl", "NL"), ("GB # comment", "GB"), ("EU", ""), ("ZZ", ""),
                                           ("UK", ""), ("QQ", ""), ("XK", "XK"), ("", "")])  # fmt: skip
def test_country_code_only_yields_codes_the_constraints_allow(raw, code):
    assert country_code(raw) == code


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("country", "ZZ", "Select a valid choice"),
        ("country", "EU", "Select a valid choice"),
        ("country", "nl", "Select a valid choice"),
        ("language", "xx", "Select a valid choice"),
        ("language", "es", "Select a valid choice"),
        ("time_zone", "Mars/Olympus", "Select a valid choice"),
        ("time_zone", "Europe/Amsterdam\x00", "Select a valid choice"),
    ],
)
def test_admin_provider_form_refuses_unknown_country_language_time_zone(
    supervisor, make_provider, field, value, message
):
    provider = make_provider()
    response = supervisor.post(
        reverse("admin:notices_hostingprovider_change", args=[provider.pk]),
        _provider_form(provider, **{field: value}),
    )
    assert response.status_code == 200
    assert message in str(response.context["adminform"].form.errors[field])
    provider.refresh_from_db()
    assert (provider.country, provider.language, provider.time_zone) == ("NL", "en", "UTC")


@pytest.mark.django_db
def test_admin_provider_form_saves_real_values(supervisor, make_provider):
    provider = make_provider()
    response = supervisor.post(
        reverse("admin:notices_hostingprovider_change", args=[provider.pk]),
        _provider_form(
            provider,
            country="BE",
            language="fr",
            time_zone="Europe/Brussels",
            removed_page_rules='[{"status": 200, "final_url": "/removed$"}]',
        ),
    )
    assert response.status_code == 302
    provider.refresh_from_db()
    assert (provider.country, provider.language, provider.time_zone) == ("BE", "fr", "Europe/Brussels")
    assert provider.removed_page_rules == [{"status": 200, "final_url": "/removed$"}]


@pytest.mark.django_db
def test_model_validation_refuses_unknown_time_zone(make_provider):
    provider = make_provider()
    provider.time_zone = "Europe/Atlantis"
    with pytest.raises(ValidationError) as error:
        provider.full_clean()
    assert "time_zone" in error.value.message_dict


def _constrained_rows(provider, notice_factory):
    """(model, field, a saved row) for every field with a country/language constraint."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("portal-user")
    return [
        (HostingProvider, "country", provider),
        (HostingProvider, "language", provider),
        (RoutingPrefix, "country", RoutingPrefix.objects.filter(provider=provider).first()),
        (HostingOverride, "country", HostingOverride.objects.create(scope="host", host="x.example")),
        (Partner, "country", Partner.objects.create(name="P", country="BE")),
        (PortalAccount, "language", PortalAccount.objects.create(user=user, language="de")),
        (Notice, "language", notice_factory()),
        (NoticeTemplate, "language", NoticeTemplate.objects.create(language="de", subject="s", body="b")),
    ]


@pytest.fixture
def a_notice(make_case, make_notice, provider, now):
    return lambda: make_notice(make_case(provider=provider, when=now), now=now, send=False)


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["ZZ", "EU", "xx", "Q", "e"])
def test_database_constraints_refuse_unknown_codes(provider, a_notice, bad):
    for model, field, row in _constrained_rows(provider, a_notice):
        with pytest.raises(IntegrityError), transaction.atomic():
            model.objects.filter(pk=row.pk).update(**{field: bad})


@pytest.mark.django_db
def test_migration_repairs_rows_then_adds_constraints(provider, a_notice):
    """On a database holding what the old forms accepted, 0020's repair makes every row valid."""
    migration = importlib.import_module("notices.migrations.0020_admin_validation")
    rows = _constrained_rows(provider, a_notice)
    constraints = {
        (model, c.name): c
        for model, _, _ in rows
        for c in model._meta.constraints
        if c.name.endswith(("_iso", "_portal", "_language"))
    }
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending trigger events before ALTER TABLE
    with connection.schema_editor(atomic=False) as editor:
        for (model, _), constraint in constraints.items():
            editor.remove_constraint(model, constraint)
    bad = {"country": "eu", "language": "klingon"}
    for model, field, row in rows:
        model.objects.filter(pk=row.pk).update(**{field: bad[field]})
    HostingProvider.objects.filter(pk=provider.pk).update(
        time_zone="Mars/Olympus",
        removed_page_rules=[{"final_url": "("}, {"final_url": "/gone$", "status": 200}],
    )
    Partner.objects.update(country="be ")

    migration.repair(apps, None)

    provider.refresh_from_db()
    assert (provider.country, provider.language, provider.time_zone) == ("", "en", "UTC")
    assert provider.removed_page_rules == [{"final_url": "/gone$", "status": 200}]
    assert Partner.objects.get().country == "BE"
    assert PortalAccount.objects.get().language == ""
    assert NoticeTemplate.objects.get().active is False
    with connection.schema_editor(atomic=False) as editor:
        for (model, _), constraint in constraints.items():
            editor.add_constraint(model, constraint)


# --- 4. notice templates ------------------------------------------------------------------------------------


def _template_form(**changes) -> dict:
    return {
        "language": "de",
        "notice_type": "",
        "subject": "Meldung {{ notice.reference }}",
        "body": "Sehr geehrte Damen und Herren",
        "active": "on",
        **changes,
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    ["", "   \n ", "{% if False %}text{% endif %}", "{{ no_such_variable }}", "{# only a comment #}"],
)
def test_active_template_whose_body_renders_empty_is_a_form_error(supervisor, body):
    response = supervisor.post(reverse("admin:notices_noticetemplate_add"), _template_form(body=body))
    assert response.status_code == 200
    assert "body" in response.context["adminform"].form.errors
    assert not NoticeTemplate.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["{% if %}", "{{ notice.reference|no_such_filter }}", "{% url 'nowhere' %}"])
def test_template_that_does_not_render_is_a_form_error_active_or_not(supervisor, body):
    for active in ({"active": "on"}, {}):
        data = {k: v for k, v in _template_form(body=body).items() if k != "active"} | active
        response = supervisor.post(reverse("admin:notices_noticetemplate_add"), data)
        assert response.status_code == 200
        assert "body" in response.context["adminform"].form.errors
    assert not NoticeTemplate.objects.exists()


@pytest.mark.django_db
def test_inactive_draft_may_be_empty_and_active_needs_a_body(supervisor):
    data = {k: v for k, v in _template_form(body="").items() if k != "active"}
    assert supervisor.post(reverse("admin:notices_noticetemplate_add"), data).status_code == 302
    draft = NoticeTemplate.objects.get()
    assert (draft.active, draft.body) == (False, "")
    response = supervisor.post(
        reverse("admin:notices_noticetemplate_change", args=[draft.pk]), _template_form(body="")
    )
    assert response.status_code == 200
    assert "body" in response.context["adminform"].form.errors
    assert supervisor.get(reverse("admin:notices_noticetemplate_preview", args=[draft.pk])).status_code == 200
    ok = supervisor.post(reverse("admin:notices_noticetemplate_change", args=[draft.pk]), _template_form())
    assert ok.status_code == 302


# --- the URL page's "Override hosting" ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"scope": "prefix", "country": "ZZ"},
        {"scope": "prefix", "country": "NL\x00"},
        {"scope": "nonsense", "country": "NL"},
        {"scope": "asn", "abuse_emails": "not-an-address"},
        {"scope": "asn", "abuse_emails": ("x" * 300) + "@example.net"},
        {"scope": "prefix", "provider": "abc"},
        {"scope": "prefix"},
    ],
)
def test_override_hosting_page_turns_bad_input_into_form_errors(supervisor, make_case, provider, now, data):
    case = make_case(provider=provider, when=now)
    response = supervisor.post(reverse("admin:notices_url_override", args=[case.pk]), data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not HostingOverride.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("prefix", ["hello", "10.0.0.1/8", "10.0.0.0/33"])
def test_override_hosting_with_a_trace_prefix_that_is_no_network_is_a_form_error(
    supervisor, make_case, provider, now, prefix
):
    case = make_case(provider=provider, when=now)
    HostingTrace.objects.filter(pk=case.current_trace_id).update(prefix=prefix)
    response = supervisor.post(
        reverse("admin:notices_url_override", args=[case.pk]), {"scope": "prefix", "country": "NL"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["scope"]
    assert not HostingOverride.objects.exists()


@pytest.mark.django_db
def test_override_hosting_page_saves_a_valid_override(supervisor, make_case, provider, now):
    case = make_case(provider=provider, when=now)
    HostingTrace.objects.filter(pk=case.current_trace_id).update(prefix="198.51.100.0/26")
    response = supervisor.post(
        reverse("admin:notices_url_override", args=[case.pk]),
        {"scope": "prefix", "country": "BE", "abuse_emails": "abuse@polder.example"},
    )
    assert response.status_code == 302
    override = HostingOverride.objects.get()
    assert (str(override.prefix), override.country, override.abuse_emails) == (
        "198.51.100.0/26",
        "BE",
        ["abuse@polder.example"],
    )
