"""Statistics by the shared vocabulary (placeholder, filled by the statistics-dimensions work)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notices", "0043_stats_changed_cases")]

    operations = []
