import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notices", "0004_registry_data")]

    operations = [
        migrations.AddField(
            model_name="url",
            name="first_gone_vantage",
            field=models.CharField(blank=True, help_text="Vantage point of the run's first gone.", max_length=100),
        ),
        migrations.CreateModel(
            name="RemovalCycle",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("asn_at_notice", models.BigIntegerField(blank=True, null=True)),
                ("country_at_notice", models.CharField(blank=True, max_length=2)),
                ("notice_type_at_notice", models.CharField(blank=True, max_length=24)),
                ("first_notice_sent_at", models.DateTimeField()),
                ("removal_confirmed_at", models.DateTimeField()),
                ("removed_low", models.DateTimeField()),
                ("removed_high", models.DateTimeField()),
                ("ttr_low", models.BigIntegerField()),
                ("ttr_high", models.BigIntegerField()),
                ("reappeared_at", models.DateTimeField()),
                (
                    "provider_at_notice",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+",
                        to="notices.hostingprovider",
                    ),
                ),
                (
                    "url",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="past_cycles", to="notices.url"
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["provider_at_notice", "first_notice_sent_at"], name="cycle_stats_provider_idx")
                ],
            },
        ),
    ]
