"""API keys: a rate of their own (`ApiKey.rate`, used instead of API_THROTTLE_RATE when set), checked by a
constraint so the limiter never reads a rate it cannot parse. A small table: the column and the check are
added at once."""

import django.core.validators
from django.db import migrations, models

RATE = r"^[1-9][0-9]{0,8}/(s|sec|second|m|min|minute|h|hour|d|day)$"


class Migration(migrations.Migration):
    dependencies = [("notices", "0041_import_identity")]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="rate",
            field=models.CharField(
                blank=True,
                default="",
                help_text="This key's own request rate (N/s, N/min, N/hour or N/day), used instead of "
                "API_THROTTLE_RATE; empty: API_THROTTLE_RATE.",
                max_length=20,
                validators=[
                    django.core.validators.RegexValidator(
                        RATE,
                        "Enter a rate as N/s, N/min, N/hour or N/day (N a whole number from 1), e.g. 15000/min.",
                    )
                ],
            ),
        ),
        migrations.AddConstraint(
            model_name="apikey",
            constraint=models.CheckConstraint(
                condition=models.Q(("rate", ""), ("rate__regex", RATE), _connector="OR"),
                name="apikey_rate_valid",
            ),
        ),
    ]
