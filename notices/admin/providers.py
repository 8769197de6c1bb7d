"""Admin for hosting providers, contacts, portal memberships and routing/registry prefixes."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from notices.admin.channels import HostingProviderForm
from notices.admin.common import SafeWidgetsMixin, TrackerModelAdmin
from notices.admin.hosting import merge_selected_providers
from notices.hosting.providers import is_derived
from notices.models import HostingProvider, ProviderContact, ProviderMembership, RoutingPrefix


class ContactInline(SafeWidgetsMixin, admin.TabularInline):
    model = ProviderContact
    extra = 1
    fields = ["email", "name", "is_abuse", "failing", "failure_reason"]


class MembershipInline(SafeWidgetsMixin, admin.TabularInline):
    model = ProviderMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(HostingProvider)
class HostingProviderAdmin(TrackerModelAdmin):
    list_display = ["name", "slug", "country", "is_eu", "derived", "language", "channel", "scorecard"]
    list_filter = ["country", "channel", "language"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    form = HostingProviderForm
    readonly_fields = ["credentials_stored", "scorecard"]
    inlines = [ContactInline, MembershipInline]
    actions = [
        merge_selected_providers
    ]  # splitting: move an org handle out; the next trace creates its provider

    def has_merge_permission(self, request) -> bool:
        """Merging moves the others' cases, contacts and handles to one provider and deletes the others."""
        return self.has_change_permission(request) and self.has_delete_permission(request)

    def save_model(self, request, obj, form, change) -> None:
        form.apply_credentials(obj)
        super().save_model(request, obj, form, change)

    @admin.display(description="API credentials")
    def credentials_stored(self, obj: HostingProvider) -> str:
        """Whether credentials are stored, and since when — never what they are."""
        if not obj.channel_credentials:
            return "none stored"
        return f"stored, encrypted (set {obj.channel_credentials_set_at:%Y-%m-%d %H:%M} UTC)"

    @admin.display(description="Scorecard")
    def scorecard(self, obj: HostingProvider) -> str:
        """The provider's scorecard (time to removal, what is still up, how it answers), on its own page."""
        if obj.pk is None or not obj.slug:
            return "—"
        return format_html('<a href="{}">Scorecard</a>', reverse("scorecard", args=[obj.slug]))

    @admin.display(boolean=True, description="EU")
    def is_eu(self, obj: HostingProvider) -> bool:
        return obj.is_eu

    @admin.display(boolean=True, description="derived from an abuse contact")
    def derived(self, obj: HostingProvider) -> bool:
        """The registry names no organisation: merge it into the real provider once known."""
        return is_derived(obj)


@admin.register(ProviderContact)
class ProviderContactAdmin(TrackerModelAdmin):
    list_display = ["email", "provider", "is_abuse", "failing", "failed_at"]
    list_filter = ["failing", "is_abuse"]
    search_fields = ["email", "provider__name"]


@admin.register(ProviderMembership)
class ProviderMembershipAdmin(TrackerModelAdmin):
    list_display = ["user", "provider", "is_admin"]
    autocomplete_fields = ["user", "provider"]


@admin.register(RoutingPrefix)
class RoutingPrefixAdmin(TrackerModelAdmin):
    list_display = ["prefix", "source", "asn", "org_name", "country", "provider"]
    list_filter = ["source", "country"]
    search_fields = ["org_name", "org_handle"]
    autocomplete_fields = ["provider"]
