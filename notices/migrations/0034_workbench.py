"""The analyst's workbench: case assignment and the soft lock (who works a case, who had it open, the
revision an analyst's change bumps), four-eyes verification of an assessment, and the indexes of the admin's
host and IP address search."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0033_escalation_orders"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="assessment",
            name="verified_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="assessment",
            name="verified_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="url",
            name="assigned_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="url",
            name="assigned_to",
            field=models.ForeignKey(
                blank=True,
                help_text="The analyst working the case.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="url",
            name="changed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="url",
            name="changed_by",
            field=models.ForeignKey(
                blank=True,
                help_text="Who made the last change (the revision).",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="url",
            name="revision",
            field=models.PositiveIntegerField(
                db_default=0, default=0, help_text="Bumped by each change an analyst makes."
            ),
        ),
        migrations.AddField(
            model_name="url",
            name="worked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="url",
            name="worked_by",
            field=models.ForeignKey(
                blank=True,
                help_text="Who last opened or changed the case (the soft lock).",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="hostingtrace",
            index=models.Index(
                condition=models.Q(("ip__isnull", False)),
                fields=["ip"],
                include=("url",),
                name="trace_ip_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="url",
            index=models.Index(fields=["host"], name="url_host_idx"),
        ),
        migrations.AddIndex(
            model_name="url",
            index=models.Index(
                condition=models.Q(("assigned_to__isnull", False)),
                fields=["assigned_to", "-id"],
                name="url_assigned_idx",
            ),
        ),
    ]
