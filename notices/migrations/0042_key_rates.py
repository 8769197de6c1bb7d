"""API keys: a rate of their own (placeholder, filled by the key-rate work)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notices", "0041_import_identity")]

    operations = []
