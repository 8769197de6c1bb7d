# Sign-in limits per account and client, kept in the attempts (notices/services/signin.py), and the shared
# API request counters (notices/infra/ratelimit.py).

import ipaddress

from django.db import migrations, models


def _client(ip):
    """What the limits count for an address (as notices.infra.clients.client_key, frozen here)."""
    if not ip:
        return ""
    address = ipaddress.ip_address(ip)
    mapped = getattr(address, "ipv4_mapped", None)
    if address.version == 6 and mapped is None:
        return str(ipaddress.IPv6Network((address, 64), strict=False).network_address)
    return str(mapped or address)


def fill_outcome_and_client(apps, schema_editor):
    LoginAttempt = apps.get_model("notices", "LoginAttempt")
    batch = []
    for attempt in LoginAttempt.objects.only("ip", "succeeded").iterator(chunk_size=2000):
        attempt.outcome = "succeeded" if attempt.succeeded else "failed"
        attempt.client = _client(attempt.ip)
        batch.append(attempt)
        if len(batch) >= 2000:
            LoginAttempt.objects.bulk_update(batch, ["outcome", "client"])
            batch = []
    LoginAttempt.objects.bulk_update(batch, ["outcome", "client"])


def fill_succeeded(apps, schema_editor):
    LoginAttempt = apps.get_model("notices", "LoginAttempt")
    LoginAttempt.objects.filter(outcome="succeeded").update(succeeded=True)


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0026_staff_2fa"),
    ]

    operations = [
        # --- Sign-in attempts: an outcome (pending while under way) and the client the limits count --------
        migrations.AddField(
            model_name="loginattempt",
            name="client",
            field=models.CharField(
                blank=True,
                help_text="What the limits count: the IPv4 address, or the IPv6 /64.",
                max_length=45,
            ),
        ),
        migrations.AddField(
            model_name="loginattempt",
            name="outcome",
            field=models.CharField(
                choices=[
                    ("pending", "Under way (counts as a failure until it ends or times out)"),
                    ("failed", "Wrong password or code"),
                    (
                        "passed",
                        "Password right; a second factor follows or this form does not serve the account",
                    ),
                    ("succeeded", "Signed in"),
                ],
                default="pending",
                max_length=10,
            ),
        ),
        migrations.RunPython(fill_outcome_and_client, fill_succeeded),
        migrations.RemoveIndex(model_name="loginattempt", name="login_attempt_ip_idx"),
        migrations.RemoveField(model_name="loginattempt", name="succeeded"),
        migrations.AlterField(
            model_name="loginattempt",
            name="username",
            field=models.CharField(
                help_text="As typed; unknown names are counted like known ones.", max_length=150
            ),
        ),
        migrations.AddIndex(
            model_name="loginattempt",
            index=models.Index(fields=["username", "client", "at"], name="login_attempt_pair_idx"),
        ),
        migrations.AddIndex(
            model_name="loginattempt",
            index=models.Index(
                condition=models.Q(("outcome__in", ["failed", "pending"])),
                fields=["client", "at"],
                name="login_attempt_client_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="loginattempt",
            index=models.Index(
                condition=models.Q(("outcome__in", ["failed", "pending"])),
                fields=["username", "at"],
                name="login_attempt_name_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="loginattempt",
            index=models.Index(fields=["at"], name="login_attempt_at_idx"),
        ),
        # --- The per-account lockout it replaces ------------------------------------------------------------
        migrations.RemoveField(model_name="portalaccount", name="failed_logins"),
        migrations.RemoveField(model_name="portalaccount", name="locked_until"),
        # --- API request counters: one row per bucket, UNLOGGED (no WAL flush per request) ------------------
        migrations.CreateModel(
            name="RateCounter",
            fields=[
                ("bucket", models.CharField(max_length=100, primary_key=True, serialize=False)),
                (
                    "window_start",
                    models.BigIntegerField(help_text="Unix time (seconds) the current window began."),
                ),
                (
                    "hits",
                    models.IntegerField(help_text="Requests counted in that window, refused ones included."),
                ),
            ],
        ),
        migrations.RunSQL(
            "ALTER TABLE notices_ratecounter SET UNLOGGED",
            "ALTER TABLE notices_ratecounter SET LOGGED",
        ),
    ]
