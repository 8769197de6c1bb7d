"""The workbench's follow-ups: plural names the admin shows ("routing prefixes", not "routing prefixs")."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notices", "0039_intake_copy")]

    operations = [
        migrations.AlterModelOptions(name="routingprefix", options={"verbose_name_plural": "routing prefixes"}),
        migrations.AlterModelOptions(
            name="routedprefix",
            options={"verbose_name": "announced prefix", "verbose_name_plural": "announced prefixes"},
        ),
        migrations.AlterModelOptions(name="mediahash", options={"verbose_name_plural": "media hashes"}),
        migrations.AlterModelOptions(name="statsrefresh", options={"verbose_name_plural": "stats refreshes"}),
    ]
