"""Crash safety of the outbox and webhook deliveries (issue 19): a claim names its worker (`claimed_by`) and
its lease is renewed by that worker's heartbeat; an attempt that handed its message over without an answer is
`in_doubt_since`; copies sent again after such a crash are counted in `duplicates`. The trace sweep's claim on a
URL (`trace_queued_at`)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notices", "0030_intake_public")]

    operations = [
        migrations.AddField(
            model_name="outgoingmessage",
            name="claimed_by",
            field=models.CharField(
                blank=True,
                db_default="",
                help_text="The worker process holding the claim (host:pid:token).",
                max_length=200,
            ),
        ),
        migrations.AddField(
            model_name="outgoingmessage",
            name="duplicates",
            field=models.PositiveIntegerField(
                db_default=0,
                default=0,
                help_text="Copies sent again after an attempt left in doubt (a worker crash): the same mail, same Message-ID.",
            ),
        ),
        migrations.AddField(
            model_name="outgoingmessage",
            name="in_doubt_since",
            field=models.DateTimeField(
                blank=True,
                help_text="An attempt handed the mail to the server and no answer was recorded (under way, or its worker died): it may have gone out since then.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="claimed_by",
            field=models.CharField(
                blank=True,
                db_default="",
                help_text="The worker process holding the claim (host:pid:token).",
                max_length=200,
            ),
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="duplicates",
            field=models.PositiveIntegerField(
                db_default=0,
                default=0,
                help_text="Deliveries sent again after an attempt left in doubt (same X-Takedown-Delivery id).",
            ),
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="in_doubt_since",
            field=models.DateTimeField(
                blank=True,
                help_text="An attempt sent the request and no answer was recorded (under way, or its worker died).",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="outgoingmessage",
            name="claimed_until",
            field=models.DateTimeField(
                blank=True,
                help_text="The claim's lease; its worker's heartbeat renews it while it lives.",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="outgoingmessage",
            name="sent_at",
            field=models.DateTimeField(
                blank=True,
                help_text="First acceptance by the mail server (or, after an attempt in doubt, the earliest moment that copy may have been accepted), recorded at once.",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="webhookdelivery",
            name="claimed_until",
            field=models.DateTimeField(
                blank=True,
                help_text="The claim's lease; its worker's heartbeat renews it while it lives.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="url",
            name="trace_queued_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the trace sweep last queued a trace no other had reached (its claim: another "
                "sweep, a second beat, leaves the URL alone until TRACE_SWEEP_GRACE has passed).",
                null=True,
            ),
        ),
    ]
