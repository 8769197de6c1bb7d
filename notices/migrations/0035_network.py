"""The hotline network: the shared assessment vocabulary on assessments (ICCAM classification derived from
legality by the database, so every existing assessment has it: baseline for illegal internationally, national
for illegal nationally only, not illegal otherwise; the other new fields start as "not recorded"), and the
links to other hotlines' cases (hand-offs and received cases, for deconfliction)."""

import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notices", "0034_workbench")]

    operations = [
        migrations.CreateModel(
            name="NetworkLink",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "role",
                    models.CharField(
                        choices=[
                            ("handed_off_to", "We handed the case off to them"),
                            ("received_from", "We received the case from them"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "partner_reference",
                    models.CharField(
                        blank=True,
                        help_text="The other hotline's own reference for the case.",
                        max_length=200,
                    ),
                ),
                (
                    "holds_notices",
                    models.BooleanField(
                        default=True,
                        help_text="The other hotline notifies the provider (a hand-off, or a case it had "
                        "already noticed).",
                    ),
                ),
                ("package", models.JSONField(blank=True, default=dict)),
                ("created_at", models.DateTimeField()),
            ],
        ),
        migrations.AddField(
            model_name="assessment",
            name="age_band",
            field=models.CharField(
                blank=True,
                choices=[
                    ("infant", "Infant or toddler (0–2)"),
                    ("prepubescent", "Pre-pubescent (3–13)"),
                    ("pubescent", "Pubescent (14–17)"),
                    ("unknown", "Not determined"),
                ],
                help_text="Youngest person depicted.",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="child_modelling",
            field=models.BooleanField(default=False, help_text="Child modelling material."),
        ),
        migrations.AddField(
            model_name="assessment",
            name="commercial",
            field=models.BooleanField(
                blank=True, help_text="Commercial site (sells access); empty: not determined.", null=True
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="network_classification",
            field=models.GeneratedField(
                db_persist=True,
                expression=models.Case(
                    models.When(legality="illegal_international", then=models.Value("baseline")),
                    models.When(legality="illegal_national", then=models.Value("national")),
                    default=models.Value("not_illegal"),
                ),
                output_field=models.CharField(
                    choices=[
                        ("baseline", "Baseline (INTERPOL baseline: illegal in every member country)"),
                        ("national", "National (illegal under the hotline's own law only)"),
                        ("not_illegal", "Not illegal"),
                    ],
                    max_length=12,
                ),
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="outcome_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("content_not_found", "Content not found"),
                    ("temporarily_unavailable", "Temporarily unavailable"),
                    ("moved", "Content moved to another location"),
                    ("duplicate", "Duplicate of another report"),
                    ("insufficient_information", "Insufficient information to assess"),
                ],
                help_text="Why the report could not be actioned as reported (empty: it could).",
                max_length=32,
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="payment_methods",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(
                    choices=[
                        ("card", "Payment card"),
                        ("cryptocurrency", "Cryptocurrency"),
                        ("bank_transfer", "Bank transfer"),
                        ("e_wallet", "E-wallet / online payment service"),
                        ("gift_card", "Gift card or voucher"),
                        ("premium_sms", "Premium SMS / phone billing"),
                        ("other", "Other"),
                    ],
                    max_length=16,
                ),
                blank=True,
                default=list,
                size=None,
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="site_type",
            field=models.CharField(
                blank=True,
                choices=[
                    ("website", "Website"),
                    ("image_host", "Image host"),
                    ("file_host", "File host / cyberlocker"),
                    ("video_host", "Video channel or host"),
                    ("image_board", "Image board"),
                    ("forum", "Forum"),
                    ("social_network", "Social network"),
                    ("blog", "Blog"),
                    ("chat", "Chat or messaging service"),
                    ("search", "Search engine"),
                    ("redirector", "Redirector / link shortener"),
                    ("banner", "Banner site (advertises other sites)"),
                    ("p2p", "Peer-to-peer"),
                    ("other", "Other"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="user_generated",
            field=models.BooleanField(default=False, help_text="Self- or user-generated material."),
        ),
        migrations.AddField(
            model_name="assessment",
            name="victim_gender",
            field=models.CharField(
                blank=True,
                choices=[
                    ("female", "Female"),
                    ("male", "Male"),
                    ("both", "Both"),
                    ("unknown", "Not determined"),
                ],
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="virtual_content",
            field=models.BooleanField(
                default=False, help_text="Virtual, drawn or AI-generated (no real child need be depicted)."
            ),
        ),
        migrations.AddConstraint(
            model_name="assessment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("age_band", ""),
                    ("age_band__in", ["infant", "prepubescent", "pubescent", "unknown"]),
                    _connector="OR",
                ),
                name="assessment_age_band_valid",
                violation_error_message="Not a value of AgeBand.",
            ),
        ),
        migrations.AddConstraint(
            model_name="assessment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("victim_gender", ""),
                    ("victim_gender__in", ["female", "male", "both", "unknown"]),
                    _connector="OR",
                ),
                name="assessment_victim_gender_valid",
                violation_error_message="Not a value of VictimGender.",
            ),
        ),
        migrations.AddConstraint(
            model_name="assessment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("site_type", ""),
                    (
                        "site_type__in",
                        [
                            "website",
                            "image_host",
                            "file_host",
                            "video_host",
                            "image_board",
                            "forum",
                            "social_network",
                            "blog",
                            "chat",
                            "search",
                            "redirector",
                            "banner",
                            "p2p",
                            "other",
                        ],
                    ),
                    _connector="OR",
                ),
                name="assessment_site_type_valid",
                violation_error_message="Not a value of SiteType.",
            ),
        ),
        migrations.AddConstraint(
            model_name="assessment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("outcome_reason", ""),
                    (
                        "outcome_reason__in",
                        [
                            "content_not_found",
                            "temporarily_unavailable",
                            "moved",
                            "duplicate",
                            "insufficient_information",
                        ],
                    ),
                    _connector="OR",
                ),
                name="assessment_outcome_reason_valid",
                violation_error_message="Not a value of OutcomeReason.",
            ),
        ),
        migrations.AddConstraint(
            model_name="assessment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "payment_methods__contained_by",
                        [
                            "card",
                            "cryptocurrency",
                            "bank_transfer",
                            "e_wallet",
                            "gift_card",
                            "premium_sms",
                            "other",
                        ],
                    )
                ),
                name="assessment_payment_methods_valid",
                violation_error_message="Not values of PaymentMethod.",
            ),
        ),
        migrations.AddField(
            model_name="networklink",
            name="partner",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="network_links",
                to="notices.partner",
            ),
        ),
        migrations.AddField(
            model_name="networklink",
            name="provider",
            field=models.ForeignKey(
                blank=True,
                help_text="The provider the other hotline notifies; our notice to it is held.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="notices.hostingprovider",
            ),
        ),
        migrations.AddField(
            model_name="networklink",
            name="url",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="network_links", to="notices.url"
            ),
        ),
        migrations.AddConstraint(
            model_name="networklink",
            constraint=models.UniqueConstraint(fields=("url", "partner", "role"), name="network_link_unique"),
        ),
        migrations.AddConstraint(
            model_name="networklink",
            constraint=models.CheckConstraint(
                condition=models.Q(("role__in", ["handed_off_to", "received_from"])),
                name="network_link_role_valid",
                violation_error_message="Not a value of PartnerRole.",
            ),
        ),
    ]
