"""Statistics changes name the cases they changed (placeholder, filled by the statistics work)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notices", "0042_key_rates")]

    operations = []
