"""Statistics generation: every refresh of the snapshots takes a number from a sequence and writes it on each
snapshot, so a process that keeps the cases as columns (selectors/stats_columns.py) knows when a refresh has
settled a change it has not seen."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notices", "0036_channels")]

    operations = [
        migrations.AddField(
            model_name="statssnapshot",
            name="generation",
            field=models.BigIntegerField(default=0, help_text="The refresh that wrote it (a sequence)."),
        ),
        migrations.RunSQL(
            "CREATE SEQUENCE notices_stats_generation", reverse_sql="DROP SEQUENCE notices_stats_generation"
        ),
    ]
