"""Hosting providers, their contacts, routing/registry data and hosting traces."""

from __future__ import annotations

from django.contrib.postgres.indexes import GistIndex, OpClass
from django.db import models

from notices.enums import ContactChannel
from notices.models.fields import CidrField

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
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2.")
    language = models.CharField(max_length=8, default="en", help_text="Language of notices and the portal.")
    time_zone = models.CharField(max_length=64, default="UTC")
    channel = models.CharField(max_length=10, choices=ContactChannel.choices, default=ContactChannel.EMAIL)
    org_handles = models.JSONField(default=list, blank=True, help_text="Registry organisation handles.")
    blocked_counts_as_gone = models.BooleanField(
        default=False, help_text="Treat 401/403 as gone for this provider's URLs (policy agreed with it)."
    )
    removed_page_rules = models.JSONField(
        default=list,
        blank=True,
        help_text='[{"status": 200, "final_url": "regex"}] — pages meaning "removed".',
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

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
    """A network prefix with what registry data says about it (announced prefix, inetnum, or override)."""

    class Source(models.TextChoices):
        ROUTING = "routing", "Routing table (pyasn / MMDB)"
        REGISTRY = "registry", "Registry object (inetnum / inet6num)"
        DEMO = "demo", "Demo data"
        OVERRIDE = "override", "Manual override"

    prefix = CidrField()
    source = models.CharField(max_length=10, choices=Source.choices)
    asn = models.BigIntegerField(null=True, blank=True)
    org_handle = models.CharField(max_length=64, blank=True)
    org_name = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=2, blank=True)
    provider = models.ForeignKey(HostingProvider, null=True, blank=True, on_delete=models.SET_NULL)
    abuse_emails = models.JSONField(default=list, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # Longest-prefix match: WHERE prefix >>= ip::inet ORDER BY masklen(prefix) DESC.
            GistIndex(OpClass("prefix", name="inet_ops"), name="prefix_gist_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix} ({self.get_source_display()})"


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
    error = models.CharField(max_length=200, blank=True)
    is_hop = models.BooleanField(default=False, help_text="Differs from the previous trace of this URL.")

    class Meta:
        indexes = [
            # URL detail: trace history newest first.
            models.Index(fields=["url", "-traced_at"], name="trace_url_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.host} → {self.ip or '?'} ({self.provider or 'unknown provider'})"

    @property
    def is_eu(self) -> bool:
        return self.country in EU_COUNTRIES
