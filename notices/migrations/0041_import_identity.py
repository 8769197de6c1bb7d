"""Import runs: how an input is recognised (placeholder, filled by the import-identity work)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notices", "0040_workbench_followups")]

    operations = []
