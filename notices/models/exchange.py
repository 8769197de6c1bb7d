"""Cases shared with other hotlines of the network: who else has a case, under which reference
(deconfliction), and the exchange package that went or came with it."""

from django.db import models

from notices.enums import PartnerRole


class NetworkLink(models.Model):
    """One other hotline's part in one of our cases: we handed the case off to it, or received it from it.

    A link that `holds_notices` holds our own notice for the case to the provider it names (or to any
    provider when it names none): the other hotline's notice covers it (notices.selectors.exchange.held_urls).
    `package` is the exchange record (notices/schemas/exchange-v1.json) sent with a hand-off, or the one
    received on import.
    """

    url = models.ForeignKey("notices.Url", on_delete=models.CASCADE, related_name="network_links")
    partner = models.ForeignKey("notices.Partner", on_delete=models.PROTECT, related_name="network_links")
    role = models.CharField(max_length=16, choices=PartnerRole.choices)
    partner_reference = models.CharField(
        max_length=200, blank=True, help_text="The other hotline's own reference for the case."
    )
    provider = models.ForeignKey(
        "notices.HostingProvider",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The provider the other hotline notifies; our notice to it is held.",
    )
    holds_notices = models.BooleanField(
        default=True,
        help_text="The other hotline notifies the provider (a hand-off, or a case it had already noticed).",
    )
    package = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["url", "partner", "role"], name="network_link_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=PartnerRole.values),
                name="network_link_role_valid",
                violation_error_message="Not a value of PartnerRole.",
            ),
        ]
        # Deconfliction at notice creation: the links of a batch's URLs (the unique index leads with url).

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.partner} {self.partner_reference}".strip()
