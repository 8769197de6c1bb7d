# Append-only records, the audit log's export permission and indexes, and retention (README "Audit log" and
# "Retention").
#
# The trigger makes the database itself refuse UPDATE and DELETE of timeline (notices_event) and audit
# (notices_auditevent) rows, whoever runs them. The only door: the retention purge sets
# `notices.retention_purge = 'on'` with SET LOCAL (for its own transaction only), and even then only the `data`
# column may change (URL strings redacted); deletes stay refused. Row triggers do not see TRUNCATE: that is an
# administrator's act outside the application (tests empty their tables with it).

import django.contrib.postgres.indexes
import django.core.validators
from django.db import migrations, models

import notices.models.retention

APPEND_ONLY = """
CREATE FUNCTION notices_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('notices.retention_purge', true) = 'on'
            AND to_jsonb(NEW) - 'data' = to_jsonb(OLD) - 'data' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Only the retention purge may redact data (README "Audit log").';
END
$$;
CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON notices_event
    FOR EACH ROW EXECUTE FUNCTION notices_append_only();
CREATE TRIGGER auditevent_append_only BEFORE UPDATE OR DELETE ON notices_auditevent
    FOR EACH ROW EXECUTE FUNCTION notices_append_only();
"""

DROP_APPEND_ONLY = """
DROP TRIGGER auditevent_append_only ON notices_auditevent;
DROP TRIGGER event_append_only ON notices_event;
DROP FUNCTION notices_append_only();
"""


def create_export_permission(apps, schema_editor):
    """The permission exists from this migration on (Django would add it only after `migrate` finishes), so
    a later migration can give it to a group."""
    content_type, _ = apps.get_model("contenttypes", "ContentType").objects.get_or_create(
        app_label="notices", model="auditevent"
    )
    apps.get_model("auth", "Permission").objects.get_or_create(
        content_type=content_type, codename="export_auditevent", defaults={"name": "Can export the audit log"}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0024_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunSQL(APPEND_ONLY, DROP_APPEND_ONLY),
        migrations.AlterModelOptions(
            name="auditevent",
            options={"permissions": [("export_auditevent", "Can export the audit log")]},
        ),
        migrations.RunPython(create_export_permission, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["-at", "-id"], name="audit_at_idx"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["actor", "-at"], name="audit_actor_idx"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["data"], name="audit_data_idx", opclasses=["jsonb_path_ops"]
            ),
        ),
        migrations.AddField(
            model_name="url",
            name="purged_at",
            field=models.DateTimeField(
                blank=True,
                help_text="The retention purge removed the URL (strings, hashes, notes); the statistics stay.",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="url",
            name="canonical_hash",
            field=models.BinaryField(max_length=32, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="notice",
            name="purged_at",
            field=models.DateTimeField(
                blank=True,
                help_text="Its last URL was purged: the stored mails and messages went too.",
                null=True,
            ),
        ),
        migrations.CreateModel(
            name="RetentionPolicy",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "ended_cases_days",
                    models.PositiveIntegerField(
                        default=notices.models.retention._default_ended_days,
                        help_text="Days after a case ended (removed, gone before notice, closed) before its URL is purged.",
                        validators=[django.core.validators.MinValueValidator(1)],
                    ),
                ),
                (
                    "not_illegal_days",
                    models.PositiveIntegerField(
                        default=notices.models.retention._default_not_illegal_days,
                        help_text="Days after a report was judged not illegal before its URL is purged.",
                        validators=[django.core.validators.MinValueValidator(1)],
                    ),
                ),
                (
                    "purge_enabled",
                    models.BooleanField(
                        default=True,
                        help_text="Off: the scheduled purge does nothing (the command still can be run).",
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "verbose_name": "retention settings",
                "verbose_name_plural": "retention settings",
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("id", 1)), name="retention_policy_singleton")
                ],
            },
        ),
    ]
