"""Issue 17: law-enforcement holds and pauses (ClockStop), removal orders with legal clocks (RemovalOrder,
OrderPause); one spelling of a cancelled outbox mail (status cancelled)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0032_ops_scale"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="BlocklistEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sha256", models.CharField(help_text="SHA-256 of the canonical URL, hex.", max_length=64)),
                ("added_at", models.DateTimeField()),
                ("removed_at", models.DateTimeField(blank=True, null=True)),
                ("changed_at", models.DateTimeField()),
            ],
            options={
                "verbose_name_plural": "blocklist entries",
            },
        ),
        migrations.CreateModel(
            name="ClockStop",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("hold", "Law-enforcement hold (do not notify)"),
                            ("need_info", "Paused: the provider needs more information"),
                            ("dispute", "Paused: the provider disputes (not our customer)"),
                        ],
                        max_length=10,
                    ),
                ),
                ("reason", models.TextField()),
                (
                    "requester",
                    models.CharField(
                        blank=True,
                        help_text="A hold: who asked for it (agency, officer, case number).",
                        max_length=200,
                    ),
                ),
                ("started_at", models.DateTimeField()),
                (
                    "expires_at",
                    models.DateTimeField(blank=True, help_text="A hold's timeout (blank: none).", null=True),
                ),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
                ("end_note", models.TextField(blank=True)),
            ],
        ),
        migrations.CreateModel(
            name="OrderPause",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("clarification", "Clarification requested by the addressee"),
                            ("force_majeure", "Force majeure or de facto impossibility"),
                        ],
                        max_length=16,
                    ),
                ),
                ("note", models.TextField(blank=True)),
                ("started_at", models.DateTimeField()),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name="RemovalOrder",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("authority", models.CharField(help_text="The issuing competent authority.", max_length=200)),
                (
                    "reference",
                    models.CharField(help_text="The authority's reference number.", max_length=100),
                ),
                ("issued_at", models.DateTimeField()),
                (
                    "addressee",
                    models.CharField(help_text="The hosting service provider addressed.", max_length=200),
                ),
                (
                    "legal_basis",
                    models.CharField(
                        choices=[
                            ("tco", "TCO Regulation (EU) 2021/784, Art. 3"),
                            ("dsa", "DSA (EU) 2022/2065, Art. 9"),
                            ("national", "National law"),
                        ],
                        max_length=10,
                    ),
                ),
                ("legal_basis_detail", models.TextField(blank=True)),
                (
                    "time_allowed",
                    models.DurationField(
                        blank=True,
                        help_text="The order's own deadline from receipt (blank: the legal default).",
                        null=True,
                    ),
                ),
                (
                    "clock_starts",
                    models.CharField(
                        choices=[
                            ("delivery", "Delivery (accepted by the mail server, or made available)"),
                            ("acknowledgement", "The provider's acknowledgement"),
                        ],
                        max_length=16,
                    ),
                ),
                ("received_at", models.DateTimeField(blank=True, null=True)),
                (
                    "due_at",
                    models.DateTimeField(
                        blank=True, help_text="Blank: not received yet, or paused.", null=True
                    ),
                ),
                ("breached_at", models.DateTimeField(blank=True, null=True)),
                (
                    "removed_at",
                    models.DateTimeField(blank=True, help_text="Every URL of the order removed.", null=True),
                ),
                ("created_at", models.DateTimeField()),
            ],
        ),
        migrations.RemoveConstraint(
            model_name="apikey",
            name="apikey_owner_matches_scope",
        ),
        migrations.AddField(
            model_name="outgoingmessage",
            name="partner",
            field=models.ForeignKey(
                blank=True,
                help_text="A hand-off mail's partner hotline.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="notices.partner",
            ),
        ),
        migrations.AddField(
            model_name="partner",
            name="language",
            field=models.CharField(
                blank=True,
                choices=[("en", "English"), ("de", "Deutsch"), ("nl", "Nederlands"), ("fr", "Français")],
                db_default="",
                default="",
                help_text="The language its hand-off mails are written in (blank: English).",
                max_length=8,
            ),
        ),
        migrations.AlterField(
            model_name="analystalert",
            name="kind",
            field=models.CharField(
                choices=[
                    ("overdue", "Still up past the deadline"),
                    ("step_failed", "Escalation step failed"),
                    ("delivery_failed", "Notice could not be delivered"),
                    ("failing_contact", "Abuse contact failing (bounce)"),
                    ("dispute", "Disputed by the provider"),
                    ("reappeared", "Content reappeared after removal"),
                    ("order_breached", "Removal order's legal deadline breached"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="apikey",
            name="scope",
            field=models.CharField(
                choices=[
                    ("partner", "Partner (intake)"),
                    ("provider", "Hosting provider"),
                    ("user", "Staff user"),
                    ("inbound", "Inbound mail (staff-owned, for an MTA pipe)"),
                    ("blocklist", "Blocking list, SHA-256 of the URLs (partner-owned)"),
                    ("blockurls", "Blocking list with the plain URLs (partner-owned)"),
                ],
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="escalationstep",
            name="action",
            field=models.CharField(
                choices=[
                    ("repeat_notice", "Repeat the notice to the provider"),
                    ("analyst_alert", "Alert the analysts"),
                    ("upstream_notice", "Notice to the upstream network (transit / parent network)"),
                    ("partner_handoff", "Hand-off e-mail to the partner hotline of the hosting country"),
                    ("refer_law_enforcement", "Referral record for law enforcement"),
                    ("refer_dsc", "Referral record for the provider's Digital Services Coordinator"),
                    ("registrar_notice", "Notice to the domain's registrar (found by RDAP)"),
                    ("cdn_notice", "Notice to the CDN in front of the content, asking for the origin"),
                ],
                max_length=24,
            ),
        ),
        migrations.AlterField(
            model_name="outgoingmessage",
            name="notice",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="messages",
                to="notices.notice",
            ),
        ),
        migrations.AlterField(
            model_name="steprun",
            name="action",
            field=models.CharField(
                choices=[
                    ("repeat_notice", "Repeat the notice to the provider"),
                    ("analyst_alert", "Alert the analysts"),
                    ("upstream_notice", "Notice to the upstream network (transit / parent network)"),
                    ("partner_handoff", "Hand-off e-mail to the partner hotline of the hosting country"),
                    ("refer_law_enforcement", "Referral record for law enforcement"),
                    ("refer_dsc", "Referral record for the provider's Digital Services Coordinator"),
                    ("registrar_notice", "Notice to the domain's registrar (found by RDAP)"),
                    ("cdn_notice", "Notice to the CDN in front of the content, asking for the origin"),
                ],
                max_length=24,
            ),
        ),
        migrations.AddConstraint(
            model_name="apikey",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("partner__isnull", False),
                        ("provider__isnull", True),
                        ("scope__in", ["partner", "blocklist", "blockurls"]),
                        ("user__isnull", True),
                    ),
                    models.Q(
                        ("partner__isnull", True),
                        ("provider__isnull", False),
                        ("scope", "provider"),
                        ("user__isnull", True),
                    ),
                    models.Q(
                        ("partner__isnull", True),
                        ("provider__isnull", True),
                        ("scope__in", ["user", "inbound"]),
                        ("user__isnull", False),
                    ),
                    _connector="OR",
                ),
                name="apikey_owner_matches_scope",
            ),
        ),
        migrations.AddField(
            model_name="blocklistentry",
            name="url",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="notices.url"
            ),
        ),
        migrations.AddField(
            model_name="clockstop",
            name="ended_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="clockstop",
            name="notice",
            field=models.ForeignKey(
                blank=True,
                help_text="A pause: the notice the provider answered.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="notices.notice",
            ),
        ),
        migrations.AddField(
            model_name="clockstop",
            name="requested_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="clockstop",
            name="url",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="clock_stops", to="notices.url"
            ),
        ),
        migrations.AddField(
            model_name="orderpause",
            name="started_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="removalorder",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="removalorder",
            name="notice",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE, related_name="order", to="notices.notice"
            ),
        ),
        migrations.AddField(
            model_name="orderpause",
            name="order",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="pauses", to="notices.removalorder"
            ),
        ),
        migrations.AddIndex(
            model_name="blocklistentry",
            index=models.Index(fields=["changed_at"], name="blocklist_changed_idx"),
        ),
        migrations.AddIndex(
            model_name="clockstop",
            index=models.Index(fields=["url", "started_at"], name="clock_stop_url_idx"),
        ),
        migrations.AddIndex(
            model_name="clockstop",
            index=models.Index(
                condition=models.Q(("ended_at", None)), fields=["url"], name="clock_stop_open_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="clockstop",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("expires_at__isnull", True), ("expires_at__gt", models.F("started_at")), _connector="OR"
                ),
                name="clock_stop_expires_after_start",
                violation_error_message="The timeout must lie after the start.",
            ),
        ),
        migrations.AddIndex(
            model_name="removalorder",
            index=models.Index(
                condition=models.Q(("breached_at", None), ("due_at__isnull", False), ("removed_at", None)),
                fields=["due_at"],
                name="order_due_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="removalorder",
            constraint=models.UniqueConstraint(
                fields=("authority", "reference"),
                name="order_reference_once",
                violation_error_message="This authority's order with this reference is already recorded.",
            ),
        ),
        migrations.AddConstraint(
            model_name="orderpause",
            constraint=models.UniqueConstraint(
                condition=models.Q(("ended_at", None)), fields=("order",), name="order_one_open_pause"
            ),
        ),
        # One spelling of "called off before sending": a withdrawn notice's mails were failed with the error
        # "cancelled: …"; they are status cancelled now, as an escalation mail called off is.
        migrations.RunSQL(
            "UPDATE notices_outgoingmessage SET status = 'cancelled' "
            "WHERE status = 'failed' AND last_error LIKE 'cancelled:%'",
            "UPDATE notices_outgoingmessage SET status = 'failed' "
            "WHERE status = 'cancelled' AND last_error LIKE 'cancelled: the notice was withdrawn%'",
        ),
    ]
