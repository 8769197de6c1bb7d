"""Placeholder kept in the migration chain; its work fills it in."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notices", "0031_ops_faults")]

    operations = []
