from django.db import migrations, models

# Queuing stores the rendered mail (subject, text, HTML); the first delivery attempt adds the attachments and
# stores the complete MIME bytes (`notices.delivery.outbox.message_bytes`), so `mime` is empty until then.
# The bodies (about 2 KB of text and 2.5 KB of HTML per 10-URL notice) are stored out of line without
# compression, as the MIME is (0016): a dispatch cycle writes thousands at once, and compressing them cost the
# database a third of that INSERT. Existing rows keep their MIME and get empty bodies.
BODIES_EXTERNAL = (
    "ALTER TABLE notices_outgoingmessage ALTER COLUMN text SET STORAGE EXTERNAL, "
    "ALTER COLUMN html SET STORAGE EXTERNAL"
)


class Migration(migrations.Migration):
    dependencies = [("notices", "0017_drop_redundant_indexes")]

    operations = [
        migrations.AddField(
            model_name="outgoingmessage",
            name="html",
            field=models.TextField(blank=True, help_text="The rendered HTML body."),
        ),
        migrations.AddField(
            model_name="outgoingmessage",
            name="text",
            field=models.TextField(blank=True, help_text="The rendered plain-text body."),
        ),
        migrations.AlterField(
            model_name="outgoingmessage",
            name="mime",
            field=models.BinaryField(
                blank=True,
                help_text="The complete message as sent: assembled (attachments included) and stored at the first "
                "delivery attempt, then sent as it is.",
                null=True,
            ),
        ),
        migrations.RunSQL(BODIES_EXTERNAL, reverse_sql=migrations.RunSQL.noop),
    ]
