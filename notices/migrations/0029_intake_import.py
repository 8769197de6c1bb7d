"""Intake through files and what a partner can ask: import runs (resumable `import_reports`), idempotent
report submission (`Idempotency-Key`), partner webhooks (endpoint and secret on the partner, one delivery
row per case event)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notices", "0028_escalation")]

    operations = [
        migrations.AddField(
            model_name='partner',
            name='webhook_secret',
            field=models.CharField(blank=True, help_text='Signing key of the webhook; the partner verifies with it.', max_length=100),
        ),
        migrations.AddField(
            model_name='partner',
            name='webhook_url',
            field=models.URLField(blank=True, help_text='Optional: receives signed JSON when a case it reported is noticed, removed or closed.', max_length=2000),
        ),
        migrations.CreateModel(
            name='IdempotentRequest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('owner', models.CharField(help_text='partner:ID or user:ID — keys are scoped per owner.', max_length=40)),
                ('key', models.CharField(max_length=200)),
                ('path', models.CharField(max_length=200)),
                ('body_hash', models.CharField(help_text='SHA-256 of the request body.', max_length=64)),
                ('status_code', models.PositiveSmallIntegerField()),
                ('response', models.JSONField()),
                ('created_at', models.DateTimeField()),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('owner', 'key'), name='idempotent_request_once')],
            },
        ),
        migrations.CreateModel(
            name='ImportRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=120, unique=True)),
                ('name', models.CharField(help_text="The path as given; '-' for standard input.", max_length=1000)),
                ('format', models.CharField(max_length=8)),
                ('lines_done', models.PositiveBigIntegerField(default=0, help_text='Lines committed, from the first.')),
                ('accepted', models.PositiveBigIntegerField(default=0)),
                ('rejected', models.PositiveBigIntegerField(default=0)),
                ('started_at', models.DateTimeField()),
                ('updated_at', models.DateTimeField()),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('partner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='notices.partner')),
            ],
        ),
        migrations.CreateModel(
            name='PartnerWebhookDelivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('event', models.CharField(choices=[('case.noticed', 'Noticed'), ('case.removed', 'Removed'), ('case.closed', 'Closed')], max_length=20)),
                ('at', models.DateTimeField(help_text='When the case changed.')),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('sending', 'Sending'), ('delivered', 'Delivered'), ('failed', 'Failed permanently')], default='pending', max_length=10)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('claimed_until', models.DateTimeField(blank=True, null=True)),
                ('last_status_code', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('last_error', models.CharField(blank=True, max_length=500)),
                ('created_at', models.DateTimeField()),
                ('delivered_at', models.DateTimeField(blank=True, null=True)),
                ('partner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhook_deliveries', to='notices.partner')),
                ('url', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='notices.url')),
            ],
            options={
                'verbose_name_plural': 'partner webhook deliveries',
                'indexes': [models.Index(condition=models.Q(('status', 'pending')), fields=['next_attempt_at'], name='partner_webhook_due_idx')],
                'constraints': [models.UniqueConstraint(fields=('partner', 'url', 'event'), name='partner_webhook_once')],
            },
        ),
    ]
