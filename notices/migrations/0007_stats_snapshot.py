from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notices", "0006_portal")]

    operations = [
        migrations.CreateModel(
            name="StatsSnapshot",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("group_by", models.CharField(max_length=16, unique=True)),
                ("computed_at", models.DateTimeField()),
                ("duration_ms", models.PositiveIntegerField(help_text="How long the raw computation took.")),
                ("groups", models.JSONField()),
            ],
        ),
    ]
