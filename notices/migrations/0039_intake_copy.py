"""Placeholder in the migration chain (filled by the part of the work it is named for, or left empty)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notices", "0038_escalation_followups")]

    operations = []
