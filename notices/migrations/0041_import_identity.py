"""Import runs: how an input is recognised. A run stores the SHA-256 and length of the bytes of the lines it
committed, so a resume checks the lines it skips; `key` (submitter, format, SHA-256 of the first MiB) is no
longer unique, since inputs with the same start get runs of their own. Runs recorded before keep an empty
digest and a key of the old form (with the size), which no new input matches."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notices", "0040_workbench_followups")]

    operations = [
        migrations.AddField(
            model_name="importrun",
            name="consumed_bytes",
            field=models.PositiveBigIntegerField(default=0, help_text="Bytes of lines 1–lines_done."),
        ),
        migrations.AddField(
            model_name="importrun",
            name="consumed_sha256",
            field=models.CharField(
                blank=True,
                help_text="SHA-256 (hex) of the bytes of lines 1–lines_done; empty: unknown.",
                max_length=64,
            ),
        ),
        migrations.AlterField(
            model_name="importrun",
            name="key",
            field=models.CharField(db_index=True, max_length=120),
        ),
    ]
