from django.db import migrations


class Migration(migrations.Migration):
    """Notice references (TN-YYYY-NNNNNN) come from a sequence: unique across workers, never reused."""

    dependencies = [("notices", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE IF NOT EXISTS notices_notice_reference_seq START 1",
            "DROP SEQUENCE IF EXISTS notices_notice_reference_seq",
        ),
    ]
