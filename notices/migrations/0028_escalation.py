"""The escalation engine (issue 17)."""

from django.db import migrations, models

# --- generated operations ---
GENERATED = [
    migrations.RemoveConstraint(
        model_name="escalation",
        name="escalation_unique_level",
    ),
    migrations.AddField(
        model_name="escalation",
        name="attempts",
        field=models.PositiveIntegerField(default=0, help_text="Failed attempts so far."),
    ),
    migrations.AddField(
        model_name="escalation",
        name="last_error",
        field=models.TextField(blank=True),
    ),
    migrations.AddField(
        model_name="escalation",
        name="status",
        field=models.CharField(
            choices=[("done", "Done"), ("retrying", "Failed, to be retried")], default="done", max_length=10
        ),
    ),
    migrations.AddConstraint(
        model_name="escalation",
        constraint=models.UniqueConstraint(fields=("url", "notice", "level"), name="escalation_unique_level"),
    ),
]
# --- end of generated operations ---


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0027_signin_limits"),
    ]

    operations = [*GENERATED]
