"""Delivery channels per provider (issue 20): the channel's settings and encrypted credentials on the provider,
the channel of each outbox message, and the reports filed with providers' abuse APIs."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notices", "0035_network")]

    operations = [
        migrations.AddField(
            model_name="hostingprovider",
            name="channel_config",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="The abuse API channel's settings (no secrets): account, reporter, flags, endpoint.",
            ),
        ),
        migrations.AddField(
            model_name="hostingprovider",
            name="channel_credentials",
            field=models.TextField(
                blank=True,
                editable=False,
                help_text="The channel's API credentials, encrypted with CHANNEL_CREDENTIALS_KEY (Fernet); never shown.",
            ),
        ),
        migrations.AddField(
            model_name="hostingprovider",
            name="channel_credentials_set_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="outgoingmessage",
            name="channel",
            field=models.CharField(
                choices=[
                    ("email", "E-mail to abuse contacts"),
                    ("api_only", "Portal / API pickup only"),
                    ("cloudflare", "Cloudflare abuse-reports API (child-abuse reports)"),
                    ("aws_abuse", "AWS Abuse Signal API (X-ARF reports)"),
                    ("webhook", "Signed webhook to the provider's registered endpoint"),
                ],
                db_default="email",
                default="email",
                help_text="What delivers it: SMTP, or a provider's abuse API (`notices.delivery.channels`).",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="hostingprovider",
            name="channel",
            field=models.CharField(
                choices=[
                    ("email", "E-mail to abuse contacts"),
                    ("api_only", "Portal / API pickup only"),
                    ("cloudflare", "Cloudflare abuse-reports API (child-abuse reports)"),
                    ("aws_abuse", "AWS Abuse Signal API (X-ARF reports)"),
                    ("webhook", "Signed webhook to the provider's registered endpoint"),
                ],
                default="email",
                help_text="How notices reach the provider: e-mail (default), portal/API pickup, or its abuse API.",
                max_length=10,
            ),
        ),
        migrations.CreateModel(
            name="ChannelReport",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "channel",
                    models.CharField(
                        choices=[
                            ("email", "E-mail to abuse contacts"),
                            ("api_only", "Portal / API pickup only"),
                            ("cloudflare", "Cloudflare abuse-reports API (child-abuse reports)"),
                            ("aws_abuse", "AWS Abuse Signal API (X-ARF reports)"),
                            ("webhook", "Signed webhook to the provider's registered endpoint"),
                        ],
                        max_length=10,
                    ),
                ),
                (
                    "position",
                    models.PositiveIntegerField(help_text="Its place among the message's requests."),
                ),
                (
                    "label",
                    models.CharField(help_text="What it covers (a hostname, a URL id).", max_length=300),
                ),
                ("url_ids", models.JSONField(default=list, help_text="The URLs it names.")),
                (
                    "token",
                    models.CharField(help_text="Idempotency / client token sent with it.", max_length=128),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Not accepted yet"),
                            ("accepted", "Accepted by the provider"),
                            ("rejected", "Rejected by the provider"),
                        ],
                        default="pending",
                        max_length=10,
                    ),
                ),
                (
                    "remote_id",
                    models.CharField(
                        blank=True, help_text="The provider's id of the report.", max_length=128
                    ),
                ),
                ("accepted_at", models.DateTimeField(blank=True, null=True)),
                ("last_error", models.CharField(blank=True, max_length=500)),
                (
                    "remote_status",
                    models.CharField(blank=True, help_text="As the provider last said.", max_length=32),
                ),
                (
                    "reason_code",
                    models.CharField(
                        blank=True, help_text="The provider's outcome, once done.", max_length=64
                    ),
                ),
                ("next_poll_at", models.DateTimeField(blank=True, null=True)),
                ("polls", models.PositiveIntegerField(default=0)),
                ("polled_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField()),
                (
                    "message",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="reports",
                        to="notices.outgoingmessage",
                    ),
                ),
                (
                    "notice",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="channel_reports",
                        to="notices.notice",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        condition=models.Q(("next_poll_at__isnull", False)),
                        fields=["next_poll_at"],
                        name="channel_report_poll_idx",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("message", "position"), name="channel_report_once")
                ],
            },
        ),
    ]
