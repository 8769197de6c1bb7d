"""Hosting providers, their contacts, routing/registry data and hosting traces."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, GistIndex, OpClass
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from notices.enums import ContactChannel, DispatchMode
from notices.models.choices import (
    COUNTRY_CHOICES,
    country_constraint,
    language_constraint,
    validate_email_list,
    validate_removed_page_rules,
    validate_string_list,
    validate_time_zone,
)
from notices.models.fields import CidrField

# AS numbers are 32-bit (RFC 6793); 0 is reserved but appears in registry data as "no origin".
ASN_VALIDATORS = [MinValueValidator(0), MaxValueValidator(4_294_967_295)]

# EU member states (ISO 3166-1 alpha-2; Greece is GR). Our own list: registry data marks some non-members EU.
EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    ]
)


class HostingProvider(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    country = models.CharField(
        max_length=2, blank=True, choices=COUNTRY_CHOICES, help_text="ISO 3166-1 alpha-2; empty: unknown."
    )
    language = models.CharField(
        max_length=8,
        default="en",
        choices=settings.LANGUAGES,
        help_text="Language of notices and the portal.",
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="IANA time zone of the portal's dates and the daily digest (e.g. Europe/Amsterdam).",
    )
    channel = models.CharField(
        max_length=10,
        choices=ContactChannel.choices,
        default=ContactChannel.EMAIL,
        help_text="How notices reach the provider: e-mail (default), portal/API pickup, or its abuse API.",
    )
    channel_config = models.JSONField(
        default=dict,
        blank=True,
        help_text="The abuse API channel's settings (no secrets): account, reporter, flags, endpoint.",
    )
    channel_credentials = models.TextField(
        blank=True,
        editable=False,
        help_text="The channel's API credentials, encrypted with CHANNEL_CREDENTIALS_KEY (Fernet); never "
        "shown.",
    )
    channel_credentials_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    org_handles = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_string_list],
        help_text="Registry organisation handles.",
    )
    blocked_counts_as_gone = models.BooleanField(
        default=False, help_text="Treat 401/403 as gone for this provider's URLs (policy agreed with it)."
    )
    removed_page_rules = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_removed_page_rules],
        help_text='[{"status": 200, "final_url": "regex"}] — pages meaning "removed" (status null: any).',
    )
    dispatch = models.CharField(
        max_length=10,
        choices=DispatchMode.choices,
        default=DispatchMode.MANUAL,
        help_text="Batch this provider's assessed URLs into notices automatically.",
    )
    dispatch_interval = models.PositiveIntegerField(
        default=60, help_text="Minutes between batches (interval)."
    )
    dispatch_hour = models.PositiveSmallIntegerField(
        default=9, help_text="Local hour of the daily digest (0–23)."
    )
    last_dispatch_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            # Imported organisation → provider: WHERE org_handles @> '["ORG-…"]' (trace, lookup index).
            GinIndex(OpClass("org_handles", name="jsonb_path_ops"), name="provider_org_handles_gin"),
        ]
        constraints = [
            country_constraint("country", "provider_country_iso"),
            language_constraint("language", "provider_language_portal"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_eu(self) -> bool:
        return self.country in EU_COUNTRIES


class ProviderContact(models.Model):
    provider = models.ForeignKey(HostingProvider, on_delete=models.CASCADE, related_name="contacts")
    email = models.EmailField()
    name = models.CharField(max_length=200, blank=True)
    is_abuse = models.BooleanField(default=True, help_text="Receives takedown notices.")
    failing = models.BooleanField(default=False)
    failure_reason = models.TextField(blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "email"], name="contact_unique_email")]

    def __str__(self) -> str:
        return self.email


class ProviderMembership(models.Model):
    """Links a portal user to the one provider whose notices it may see."""

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="provider_membership")
    provider = models.ForeignKey(HostingProvider, on_delete=models.CASCADE, related_name="memberships")
    is_admin = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.user} @ {self.provider}"


class RoutingPrefix(models.Model):
    """A hand-entered (or demo) prefix with what is known about it, consulted beside the imported data.

    Imported registry and routing data live in notices.models.registry, one generation per import; these rows
    are never touched by an import. A `registry`/`demo` row competes with imported inetnums on specificity, a
    `routing` row with imported announced prefixes. Overrides that must win are `HostingOverride` rows.
    """

    class Source(models.TextChoices):
        ROUTING = "routing", "Routing (announced prefix, origin AS)"
        REGISTRY = "registry", "Registry (network and its holder)"
        DEMO = "demo", "Demo data"

    prefix = CidrField()
    source = models.CharField(max_length=10, choices=Source.choices)
    asn = models.BigIntegerField(null=True, blank=True, validators=ASN_VALIDATORS)
    org_handle = models.CharField(max_length=64, blank=True)
    org_name = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=2, blank=True, choices=COUNTRY_CHOICES)
    provider = models.ForeignKey(HostingProvider, null=True, blank=True, on_delete=models.SET_NULL)
    abuse_emails = models.JSONField(default=list, blank=True, validators=[validate_email_list])
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "routing prefixes"
        indexes = [
            # Longest-prefix match: WHERE prefix >>= ip::inet ORDER BY masklen(prefix) DESC.
            GistIndex(OpClass("prefix", name="inet_ops"), name="prefix_gist_idx"),
        ]
        constraints = [country_constraint("country", "routing_prefix_country_iso")]

    def __str__(self) -> str:
        return f"{self.prefix} ({self.get_source_display()})"


class HostingOverride(models.Model):
    """An analyst's correction: for this URL, host, prefix or ASN the hosting provider (and contact) is …

    Overrides win over imported and looked-up data and live apart from it, so re-imports never touch them.
    Precedence when several match: URL, then host, then the most specific prefix, then ASN.
    """

    class Scope(models.TextChoices):
        URL = "url", "URL"
        HOST = "host", "Host"
        PREFIX = "prefix", "Prefix"
        ASN = "asn", "ASN"

    scope = models.CharField(max_length=8, choices=Scope.choices)
    url = models.ForeignKey(
        "notices.Url", null=True, blank=True, on_delete=models.CASCADE, related_name="hosting_overrides"
    )
    host = models.CharField(max_length=255, blank=True, help_text="Lower-case host name, as in the URL.")
    prefix = CidrField(null=True, blank=True)
    asn = models.BigIntegerField(null=True, blank=True, validators=ASN_VALIDATORS)
    provider = models.ForeignKey(
        HostingProvider, null=True, blank=True, on_delete=models.CASCADE, related_name="overrides"
    )
    country = models.CharField(
        max_length=2, blank=True, choices=COUNTRY_CHOICES, help_text="Hosting country (ISO 3166-1 alpha-2)."
    )
    abuse_emails = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_email_list],
        help_text="Where to write; empty: the provider's abuse contacts.",
    )
    note = models.TextField(blank=True, help_text="Why (e.g. origin behind the CDN confirmed by the CDN).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Exactly the field of the scope is set, so matching never has to guess.
            models.CheckConstraint(
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
            country_constraint("country", "override_country_iso"),
        ]
        indexes = [
            # The trace's override look-up by host: WHERE host = %s (URL overrides go through the url FK).
            models.Index(fields=["host"], name="override_host_idx", condition=~models.Q(host="")),
        ]

    def __str__(self) -> str:
        target = {"url": self.url_id, "host": self.host, "prefix": self.prefix, "asn": self.asn}[self.scope]
        return f"{self.get_scope_display()} {target} → {self.provider or 'contact only'}"

    def clean(self) -> None:
        self.host = self.host.strip().lower()


class HostingTrace(models.Model):
    """One trace of a URL: inputs, every source consulted and what it said, and the answer."""

    url = models.ForeignKey("notices.Url", on_delete=models.CASCADE, related_name="traces")
    traced_at = models.DateTimeField()
    host = models.CharField(max_length=255)
    ips = models.JSONField(default=list)
    cnames = models.JSONField(default=list)
    ip = models.GenericIPAddressField(null=True, blank=True, help_text="The address the answer is for.")
    prefix = models.CharField(max_length=64, blank=True)
    asn = models.BigIntegerField(null=True, blank=True)
    provider = models.ForeignKey(HostingProvider, null=True, blank=True, on_delete=models.SET_NULL)
    country = models.CharField(max_length=2, blank=True)
    abuse_emails = models.JSONField(default=list, blank=True)
    sources = models.JSONField(default=list, help_text="[{source, query, answer}] in the order consulted.")
    org_handle = models.CharField(max_length=64, blank=True, help_text="Organisation naming the provider.")
    allocation_holder = models.CharField(max_length=64, blank=True, help_text="Org of the allocation (LIR).")
    origin_as_org = models.CharField(max_length=64, blank=True, help_text="Org of the origin AS.")
    country_source = models.CharField(max_length=20, blank=True, help_text="Which source gave the country.")
    intermediary = models.ForeignKey(
        HostingProvider,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="CDN / reverse proxy in front of the origin.",
    )
    origin_unknown = models.BooleanField(
        default=False, help_text="Behind an intermediary; origin not entered."
    )
    override = models.ForeignKey(HostingOverride, null=True, blank=True, on_delete=models.SET_NULL)
    error = models.CharField(max_length=200, blank=True)
    is_hop = models.BooleanField(default=False, help_text="Differs from the previous trace of this URL.")

    class Meta:
        indexes = [
            # URL detail: trace history newest first.
            models.Index(fields=["url", "-traced_at"], name="trace_url_idx"),
            # Re-evaluating the open cases after an import (notices.services.reevaluation): the current
            # traces, joined by id, are read from this index alone (index-only scan), not from the wide rows
            # with their sources — and not from the traces of closed cases and earlier traces, which make most
            # of the table.
            models.Index(
                fields=["id"],
                include=["ip", "provider", "asn", "country", "override"],
                name="trace_answer_idx",
            ),
            # Admin search by IP address (notices/admin/queue.py): the cases traced to the address.
            models.Index(
                fields=["ip"], include=["url"], name="trace_ip_idx", condition=models.Q(ip__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.host} → {self.ip or '?'} ({self.provider or 'unknown provider'})"

    @property
    def is_eu(self) -> bool:
        return self.country in EU_COUNTRIES
