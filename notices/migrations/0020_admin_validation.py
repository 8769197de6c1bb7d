"""Country, language and time-zone fields hold real values: existing rows are repaired first (a live database
may hold anything the old forms accepted), then the check constraints are added.

Repairs: a country that is a valid code in other case or with spaces is normalised ("nl " → "NL"); any other
value (registry "EU", "ZZ", typos) becomes "" (unknown). A language outside the portal's becomes the default
("en"; a portal account's: "" = the provider's). An unknown time zone becomes "UTC". Removed-page rules that
the checker cannot use (not an object, empty or invalid regular expression, bad status) are dropped. A notice
template in an unknown language is deactivated and set to English, so it stays readable but is never used.

The code lists are frozen here as they were when the constraints were written; the models' lists live in
notices/models/choices.py.
"""

import re
import zoneinfo

import django.core.validators
from django.db import migrations, models

import notices.models.choices

COUNTRY_CODES = (
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB",
    "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY",
    "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX",
    "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK",
    "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS",
    "GT", "GU", "GW", "GY", "HK", "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR",
    "IS", "IT", "JE", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA",
    "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE",
    "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM",
    "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG",
    "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF",
    "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY",
    "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "XK", "YE", "YT", "ZA", "ZM", "ZW",
)  # fmt: skip
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("nl", "Nederlands"), ("fr", "Français")]
LANGUAGE_CODES = ("en", "de", "nl", "fr")

COUNTRY_FIELDS = [("HostingProvider", "country"), ("RoutingPrefix", "country"), ("HostingOverride", "country"),
                  ("Partner", "country")]  # fmt: skip
LANGUAGE_FIELDS = [("HostingProvider", "language", "en"), ("Notice", "language", "en"),
                   ("PortalAccount", "language", "")]  # fmt: skip


def _usable_rule(rule) -> bool:
    if not isinstance(rule, dict) or set(rule) - {"status", "final_url"}:
        return False
    pattern, status = rule.get("final_url"), rule.get("status")
    if not isinstance(pattern, str) or not pattern:
        return False
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599
    ):
        return False
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return False
    return True


def repair(apps, schema_editor):
    for model_name, field in COUNTRY_FIELDS:
        model = apps.get_model("notices", model_name)
        bad = model.objects.exclude(**{f"{field}__in": COUNTRY_CODES}).exclude(**{field: ""})
        for value in set(bad.values_list(field, flat=True)):
            fixed = value.strip().upper()
            bad.filter(**{field: value}).update(**{field: fixed if fixed in COUNTRY_CODES else ""})
    for model_name, field, default in LANGUAGE_FIELDS:
        model = apps.get_model("notices", model_name)
        bad = model.objects.exclude(**{f"{field}__in": LANGUAGE_CODES}).exclude(**{field: default})
        for value in set(bad.values_list(field, flat=True)):
            fixed = value.strip().lower()
            bad.filter(**{field: value}).update(**{field: fixed if fixed in LANGUAGE_CODES else default})
    template = apps.get_model("notices", "NoticeTemplate")
    template.objects.exclude(language__in=LANGUAGE_CODES).update(language="en", active=False)

    provider = apps.get_model("notices", "HostingProvider")
    zones = zoneinfo.available_timezones()
    provider.objects.exclude(time_zone__in=zones).update(time_zone="UTC")
    for pk, rules in provider.objects.exclude(removed_page_rules=[]).values_list("pk", "removed_page_rules"):
        kept = [rule for rule in rules if _usable_rule(rule)] if isinstance(rules, list) else []
        if kept != rules:
            provider.objects.filter(pk=pk).update(removed_page_rules=kept)


def country_constraint(field: str, name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=models.Q((field, ""), (f"{field}__in", COUNTRY_CODES), _connector="OR"),
        name=name,
        violation_error_message="Not an ISO 3166-1 alpha-2 country code.",
    )


def language_constraint(field: str, name: str, *, blank: bool = False) -> models.CheckConstraint:
    condition = (
        models.Q((f"{field}__in", LANGUAGE_CODES), (field, ""), _connector="OR")
        if blank
        else models.Q((f"{field}__in", LANGUAGE_CODES))
    )
    return models.CheckConstraint(
        condition=condition, name=name, violation_error_message="Not a language of the portal."
    )


ASN_VALIDATORS = [
    django.core.validators.MinValueValidator(0),
    django.core.validators.MaxValueValidator(4294967295),
]


class Migration(migrations.Migration):
    dependencies = [("notices", "0019_registry_provider_country")]

    operations = [
        migrations.RunPython(repair, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="hostingoverride",
            name="asn",
            field=models.BigIntegerField(blank=True, null=True, validators=ASN_VALIDATORS),
        ),
        migrations.AlterField(
            model_name="hostingoverride",
            name="country",
            field=models.CharField(
                blank=True,
                choices=notices.models.choices.COUNTRY_CHOICES,
                max_length=2,
                help_text="Hosting country (ISO 3166-1 alpha-2).",
            ),
        ),
        migrations.AlterField(
            model_name="hostingprovider",
            name="country",
            field=models.CharField(
                blank=True,
                choices=notices.models.choices.COUNTRY_CHOICES,
                max_length=2,
                help_text="ISO 3166-1 alpha-2; empty: unknown.",
            ),
        ),
        migrations.AlterField(
            model_name="hostingprovider",
            name="language",
            field=models.CharField(
                choices=LANGUAGES, default="en", help_text="Language of notices and the portal.", max_length=8
            ),
        ),
        migrations.AlterField(
            model_name="hostingprovider",
            name="removed_page_rules",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text='[{"status": 200, "final_url": "regex"}] — pages meaning "removed" (status null: any).',
                validators=[notices.models.choices.validate_removed_page_rules],
            ),
        ),
        migrations.AlterField(
            model_name="hostingprovider",
            name="time_zone",
            field=models.CharField(
                default="UTC",
                max_length=64,
                validators=[notices.models.choices.validate_time_zone],
                help_text="IANA time zone of the portal's dates and the daily digest (e.g. Europe/Amsterdam).",
            ),
        ),
        migrations.AlterField(
            model_name="notice",
            name="language",
            field=models.CharField(choices=LANGUAGES, default="en", max_length=8),
        ),
        migrations.AlterField(
            model_name="noticetemplate",
            name="body",
            field=models.TextField(
                blank=True,
                help_text="The plain-text body; the HTML part wraps it. Django template syntax. An inactive draft "
                "may be empty; an active template must render a body.",
            ),
        ),
        migrations.AlterField(
            model_name="partner",
            name="country",
            field=models.CharField(
                blank=True,
                choices=notices.models.choices.COUNTRY_CHOICES,
                help_text="ISO 3166-1 alpha-2.",
                max_length=2,
            ),
        ),
        migrations.AlterField(
            model_name="portalaccount",
            name="language",
            field=models.CharField(
                blank=True, choices=LANGUAGES, help_text="Empty: the provider's language.", max_length=8
            ),
        ),
        migrations.AlterField(
            model_name="routingprefix",
            name="asn",
            field=models.BigIntegerField(blank=True, null=True, validators=ASN_VALIDATORS),
        ),
        migrations.AlterField(
            model_name="routingprefix",
            name="country",
            field=models.CharField(blank=True, choices=notices.models.choices.COUNTRY_CHOICES, max_length=2),
        ),
        migrations.AlterField(
            model_name="hostingoverride",
            name="abuse_emails",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="Where to write; empty: the provider's abuse contacts.",
                validators=[notices.models.choices.validate_email_list],
            ),
        ),
        migrations.AlterField(
            model_name="hostingprovider",
            name="org_handles",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="Registry organisation handles.",
                validators=[notices.models.choices.validate_string_list],
            ),
        ),
        migrations.AlterField(
            model_name="routingprefix",
            name="abuse_emails",
            field=models.JSONField(
                blank=True, default=list, validators=[notices.models.choices.validate_email_list]
            ),
        ),
        migrations.AddConstraint(
            model_name="hostingoverride", constraint=country_constraint("country", "override_country_iso")
        ),
        migrations.AddConstraint(
            model_name="hostingprovider", constraint=country_constraint("country", "provider_country_iso")
        ),
        migrations.AddConstraint(
            model_name="hostingprovider",
            constraint=language_constraint("language", "provider_language_portal"),
        ),
        migrations.AddConstraint(
            model_name="notice", constraint=language_constraint("language", "notice_language_portal")
        ),
        migrations.AddConstraint(
            model_name="noticetemplate",
            constraint=language_constraint("language", "notice_template_language"),
        ),
        migrations.AddConstraint(
            model_name="partner", constraint=country_constraint("country", "partner_country_iso")
        ),
        migrations.AddConstraint(
            model_name="portalaccount",
            constraint=language_constraint("language", "portal_account_language", blank=True),
        ),
        migrations.AddConstraint(
            model_name="routingprefix", constraint=country_constraint("country", "routing_prefix_country_iso")
        ),
        migrations.AlterConstraint(
            model_name="hostingoverride",
            name="override_scope_field_set",
            constraint=models.CheckConstraint(
                condition=(
                    models.Q(scope="url", url__isnull=False, host="", prefix__isnull=True, asn__isnull=True)
                    | models.Q(scope="host", url__isnull=True, prefix__isnull=True, asn__isnull=True)
                    & ~models.Q(host="")
                    | models.Q(
                        scope="prefix", url__isnull=True, host="", prefix__isnull=False, asn__isnull=True
                    )
                    | models.Q(scope="asn", url__isnull=True, host="", prefix__isnull=True, asn__isnull=False)
                ),
                name="override_scope_field_set",
                violation_error_message=(
                    "Set exactly the field of the scope: the URL for “URL”, the host for “Host”, the prefix "
                    "for “Prefix”, the AS number for “ASN” (and leave the others empty)."
                ),
            ),
        ),
        migrations.AlterConstraint(
            model_name="noticetemplate",
            name="notice_template_one_active",
            constraint=models.UniqueConstraint(
                condition=models.Q(active=True),
                fields=("language", "notice_type"),
                name="notice_template_one_active",
                violation_error_message="Another active template has this language and notice type.",
            ),
        ),
    ]
