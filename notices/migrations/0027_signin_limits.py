# Placeholder in the migration chain; filled by the work it is named after.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0026_staff_2fa"),
    ]

    operations = []
