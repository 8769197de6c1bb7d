"""Intake channels (issue 18): the report's channel and the public form's optional reporter e-mail, hash values
per media item (MediaHash, matched across cases), and the site key of every URL (backfilled here)."""

import django.db.models.deletion
from django.db import migrations, models

HASH_BACKFILL = """
INSERT INTO notices_mediahash (report_id, url_id, algorithm, value)
SELECT r.id, r.url_id, h->>'algorithm',
       CASE WHEN h->>'algorithm' IN ('md5', 'sha1', 'sha256', 'pdq') THEN lower(h->>'value') ELSE h->>'value' END
FROM notices_report r
CROSS JOIN LATERAL jsonb_array_elements(
    CASE WHEN jsonb_typeof(r.hashes) = 'array' THEN r.hashes ELSE '[]'::jsonb END) AS h
WHERE jsonb_typeof(h) = 'object'
  AND h->>'algorithm' IN ('md5', 'sha1', 'sha256', 'photodna', 'pdq')
  AND coalesce(h->>'value', '') <> '' AND length(h->>'value') <= 1024
"""


def backfill_sites(apps, schema_editor):
    from notices.canonical import site_of  # noqa: PLC0415 (the migration runs with the app loaded)

    Url = apps.get_model("notices", "Url")
    last = 0
    while True:
        rows = list(Url.objects.filter(pk__gt=last).exclude(host="").order_by("pk").values_list("pk", "host")[:5000])
        if not rows:
            return
        by_site = {}
        for pk, host in rows:
            by_site.setdefault(site_of(host), []).append(pk)
        for site, pks in by_site.items():
            Url.objects.filter(pk__in=pks).update(site=site)
        last = rows[-1][0]


class Migration(migrations.Migration):
    dependencies = [("notices", "0029_intake_import")]

    operations = [
        migrations.CreateModel(
            name="MediaHash",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "algorithm",
                    models.CharField(
                        choices=[
                            ("md5", "MD5"),
                            ("sha1", "SHA-1"),
                            ("sha256", "SHA-256"),
                            ("photodna", "PhotoDNA (perceptual)"),
                            ("pdq", "PDQ (perceptual)"),
                        ],
                        max_length=10,
                    ),
                ),
                ("value", models.CharField(max_length=1024)),
                (
                    "report",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="media_hashes", to="notices.report"
                    ),
                ),
                (
                    "url",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="media_hashes",
                        to="notices.url",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["algorithm", "value"], name="mediahash_value_idx"),
                    models.Index(fields=["url"], name="mediahash_url_idx"),
                ],
            },
        ),
        migrations.AddField(
            model_name="report",
            name="channel",
            field=models.CharField(
                choices=[
                    ("api", "API (single report)"),
                    ("bulk", "API (bulk)"),
                    ("admin", "Entered by an analyst"),
                    ("public", "Public report form"),
                ],
                db_default="api",
                default="api",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="report",
            name="reporter_email",
            field=models.EmailField(blank=True, db_default="", default="", max_length=254),
        ),
        migrations.AddField(
            model_name="url",
            name="site",
            field=models.CharField(blank=True, db_default="", default="", max_length=255),
        ),
        migrations.AddIndex(
            model_name="report",
            index=models.Index(condition=models.Q(("channel", "public")), fields=["url"], name="report_public_idx"),
        ),
        migrations.AddIndex(
            model_name="url",
            index=models.Index(fields=["site", "-id"], name="url_site_idx"),
        ),
        migrations.RunPython(backfill_sites, migrations.RunPython.noop, elidable=True),
        migrations.RunSQL(HASH_BACKFILL, migrations.RunSQL.noop, elidable=True),
    ]
