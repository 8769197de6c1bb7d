"""Statistics generation and the indexes of the workbench at a million cases.

1. Every refresh of the snapshots takes a number from a sequence and writes it on each snapshot, so a process
   that keeps the cases as columns (selectors/stats_columns.py) knows when a refresh has settled a change it
   has not seen.
2. Indexes for the dashboard's recent events and removals, the event list by kind, and the reappeared
   and disputed work queues — built CONCURRENTLY (the tables are the largest; writes go on meanwhile), so
   this migration is not atomic.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
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
        # Partners written by raw SQL (the write-behind tests, bulk paths) get the webhook fields too.
        migrations.AlterField(
            model_name="partner",
            name="webhook_url",
            field=models.URLField(
                blank=True,
                db_default="",
                max_length=2000,
                help_text="Optional: receives signed JSON when a case it reported is noticed, removed or closed.",
            ),
        ),
        migrations.AlterField(
            model_name="partner",
            name="webhook_secret",
            field=models.CharField(
                blank=True,
                db_default="",
                max_length=100,
                help_text="Signing key of the webhook; the partner verifies with it.",
            ),
        ),
        AddIndexConcurrently(
            model_name="event", index=models.Index(fields=["-at", "-id"], name="event_recent_idx")
        ),
        AddIndexConcurrently(
            model_name="event", index=models.Index(fields=["kind", "-id"], name="event_kind_idx")
        ),
        AddIndexConcurrently(
            model_name="noticeitem",
            index=models.Index(
                condition=models.Q(("is_open", True), ("status", "disputed")),
                fields=["url"],
                name="item_disputed_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="url",
            index=models.Index(
                condition=models.Q(("removal_confirmed_at__isnull", False)),
                fields=["removal_confirmed_at"],
                name="url_removed_at_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="url",
            index=models.Index(
                condition=models.Q(("reappearance_count__gt", 0)),
                fields=["status"],
                name="url_reappeared_idx",
            ),
        ),
    ]
