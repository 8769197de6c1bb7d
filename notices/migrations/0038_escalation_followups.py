"""Issue 17 follow-ups: a notice item superseded by a hop (when, why), a removal order whose URLs all moved
away before its clock ran out, webhook deliveries of `notice.superseded` (one per endpoint and item), and
the blocking list's (changed_at, id) index for its keyset pages."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notices", "0037_stats_generation")]

    operations = [
        migrations.RemoveConstraint(
            model_name="webhookdelivery",
            name="webhook_delivery_once",
        ),
        migrations.AddField(
            model_name="noticeitem",
            name="superseded_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="When the notice stopped asking its provider for the URL because the content moved away.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="noticeitem",
            name="superseded_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("hop", "The content now answers from another network"),
                    ("moved_before_send", "The content had moved to another network before sending"),
                ],
                db_default="",
                default="",
                editable=False,
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="removalorder",
            name="superseded_at",
            field=models.DateTimeField(
                blank=True,
                help_text="Every URL of the order moved to another network before its clock ran out: no breach.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="item",
            field=models.ForeignKey(
                blank=True,
                help_text="The notice's item superseded by a hop (event notice.superseded).",
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="notices.noticeitem",
            ),
        ),
        migrations.AddConstraint(
            model_name="noticeitem",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("superseded_at__isnull", True), ("superseded_reason", "")),
                    models.Q(
                        ("superseded_at__isnull", False), models.Q(("superseded_reason", ""), _negated=True)
                    ),
                    _connector="OR",
                ),
                name="item_superseded_with_reason",
            ),
        ),
        migrations.AddConstraint(
            model_name="webhookdelivery",
            constraint=models.UniqueConstraint(
                condition=models.Q(("item__isnull", True), ("run__isnull", True)),
                fields=("endpoint", "notice"),
                name="webhook_delivery_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="webhookdelivery",
            constraint=models.UniqueConstraint(
                condition=models.Q(("item__isnull", False)),
                fields=("endpoint", "item"),
                name="webhook_superseded_once",
            ),
        ),
        migrations.RemoveIndex(model_name="blocklistentry", name="blocklist_changed_idx"),
        migrations.AddIndex(
            model_name="blocklistentry",
            index=models.Index(fields=["changed_at", "id"], name="blocklist_changed_idx"),
        ),
    ]
