# The covering index the re-evaluation of open cases after an import reads (notices.services.reevaluation).
# Built concurrently: a large trace table keeps taking traces while it builds (so not in a transaction).

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("notices", "0021_stats_freshness"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="hostingtrace",
            index=models.Index(
                fields=["id"], include=("ip", "provider", "asn", "country", "override"), name="trace_answer_idx"
            ),
        ),
    ]
