"""Acting on a same-provider change of hosting country: the analysts' alert kind `country_changed`."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notices", "0044_stats_dimensions")]

    operations = [
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
                    ("country_changed", "Hosting country changed (same provider)"),
                ],
                max_length=20,
            ),
        ),
    ]
