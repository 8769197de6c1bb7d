"""The escalation engine (issue 17): policies, step runs, referrals, the analysts' alert queue.

Data: the default ladders, and the way from the ESCALATION_STEPS setting (README "Escalation", upgrading):
1. the default policy of hotline and trusted-flagger notices: repeat the notice every 24 h; at 48 h alert the
   analysts; at 72 h notify the upstream network and hand off to the partner hotline of the hosting country;
   at 7 days record referrals for law enforcement and the provider's Digital Services Coordinator. Removal
   orders: repeat every hour from the deadline, alert the analysts at the deadline;
2. ESCALATION_STEPS set in the environment at upgrade time (offsets after the deadline, "0,72h,7d"): the
   hotline and trusted-flagger ladders are the old one instead — repeat at the first offset, alert the
   analysts at the second, notify the upstream network at the third (which used to be a flag only);
3. the steps cases already took under the old ladder become runs of the new ladder's matching steps
   (level 1 → the repeat, 2 → the analyst alert, 3 → the upstream notice), so no case takes them again;
4. cases still noticed whose ladder ended or was dropped (the defects issue 17 names) are due for planning.
"""

import os
from datetime import timedelta

import datetime
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models.functions import Now

# --- generated operations ---
GENERATED = [
    migrations.CreateModel(
        name='AnalystAlert',
        fields=[
            ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
            ('kind', models.CharField(choices=[('overdue', 'Still up past the deadline'), ('step_failed', 'Escalation step failed'), ('delivery_failed', 'Notice could not be delivered'), ('failing_contact', 'Abuse contact failing (bounce)'), ('dispute', 'Disputed by the provider'), ('reappeared', 'Content reappeared after removal')], max_length=20)),
            ('status', models.CharField(choices=[('open', 'Open'), ('acknowledged', 'Acknowledged (someone is on it)'), ('resolved', 'Resolved')], default='open', max_length=12)),
            ('key', models.CharField(max_length=100)),
            ('summary', models.TextField()),
            ('data', models.JSONField(blank=True, default=dict)),
            ('created_at', models.DateTimeField()),
            ('acknowledged_at', models.DateTimeField(blank=True, null=True)),
            ('resolved_at', models.DateTimeField(blank=True, null=True)),
        ],
    ),
    migrations.CreateModel(
        name='EscalationPolicy',
        fields=[
            ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
            ('name', models.CharField(max_length=200, unique=True)),
            ('notice_type', models.CharField(choices=[('hotline_notice', 'Hotline notice'), ('trusted_flagger', 'DSA Art. 16 trusted-flagger notice'), ('removal_order', 'Removal order')], max_length=24)),
            ('active', models.BooleanField(default=True)),
            ('note', models.TextField(blank=True, help_text='Why this ladder (an agreement with the provider, …).')),
            ('updated_at', models.DateTimeField(auto_now=True)),
        ],
        options={
            'verbose_name_plural': 'escalation policies',
        },
    ),
    migrations.CreateModel(
        name='EscalationStep',
        fields=[
            ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
            ('position', models.PositiveSmallIntegerField(help_text='Order in the ladder (1 first).')),
            ('action', models.CharField(choices=[('repeat_notice', 'Repeat the notice to the provider'), ('analyst_alert', 'Alert the analysts'), ('upstream_notice', 'Notice to the upstream network (transit / parent network)'), ('partner_handoff', 'Hand-off e-mail to the partner hotline of the hosting country'), ('refer_law_enforcement', 'Referral record for law enforcement'), ('refer_dsc', "Referral record for the provider's Digital Services Coordinator")], max_length=24)),
            ('anchor', models.CharField(choices=[('notice', 'since the notice was sent'), ('previous', 'since the previous step was taken'), ('deadline', "from the notice's deadline (a negative delay: before it)")], default='notice', max_length=10)),
            ('delay', models.DurationField(help_text='E.g. 24h, 7d, 90m; before a deadline: -2h.')),
            ('repeat_every', models.DurationField(blank=True, help_text='Blank: once.', null=True)),
            ('repeat_times', models.PositiveIntegerField(blank=True, help_text='How many times in all, when repeated (blank: until the case ends).', null=True)),
        ],
        options={
            'ordering': ['policy', 'position'],
        },
    ),
    migrations.CreateModel(
        name='Referral',
        fields=[
            ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
            ('authority', models.CharField(choices=[('law_enforcement', 'Law enforcement'), ('dsc', 'Digital Services Coordinator')], max_length=20)),
            ('country', models.CharField(blank=True, choices=[('AD', 'AD — Andorra'), ('AE', 'AE — United Arab Emirates'), ('AF', 'AF — Afghanistan'), ('AG', 'AG — Antigua and Barbuda'), ('AI', 'AI — Anguilla'), ('AL', 'AL — Albania'), ('AM', 'AM — Armenia'), ('AO', 'AO — Angola'), ('AQ', 'AQ — Antarctica'), ('AR', 'AR — Argentina'), ('AS', 'AS — American Samoa'), ('AT', 'AT — Austria'), ('AU', 'AU — Australia'), ('AW', 'AW — Aruba'), ('AX', 'AX — Åland Islands'), ('AZ', 'AZ — Azerbaijan'), ('BA', 'BA — Bosnia and Herzegovina'), ('BB', 'BB — Barbados'), ('BD', 'BD — Bangladesh'), ('BE', 'BE — Belgium'), ('BF', 'BF — Burkina Faso'), ('BG', 'BG — Bulgaria'), ('BH', 'BH — Bahrain'), ('BI', 'BI — Burundi'), ('BJ', 'BJ — Benin'), ('BL', 'BL — Saint Barthélemy'), ('BM', 'BM — Bermuda'), ('BN', 'BN — Brunei Darussalam'), ('BO', 'BO — Bolivia'), ('BQ', 'BQ — Bonaire, Sint Eustatius and Saba'), ('BR', 'BR — Brazil'), ('BS', 'BS — Bahamas'), ('BT', 'BT — Bhutan'), ('BV', 'BV — Bouvet Island'), ('BW', 'BW — Botswana'), ('BY', 'BY — Belarus'), ('BZ', 'BZ — Belize'), ('CA', 'CA — Canada'), ('CC', 'CC — Cocos (Keeling) Islands'), ('CD', 'CD — Congo (Democratic Republic)'), ('CF', 'CF — Central African Republic'), ('CG', 'CG — Congo'), ('CH', 'CH — Switzerland'), ('CI', "CI — Côte d'Ivoire"), ('CK', 'CK — Cook Islands'), ('CL', 'CL — Chile'), ('CM', 'CM — Cameroon'), ('CN', 'CN — China'), ('CO', 'CO — Colombia'), ('CR', 'CR — Costa Rica'), ('CU', 'CU — Cuba'), ('CV', 'CV — Cabo Verde'), ('CW', 'CW — Curaçao'), ('CX', 'CX — Christmas Island'), ('CY', 'CY — Cyprus'), ('CZ', 'CZ — Czechia'), ('DE', 'DE — Germany'), ('DJ', 'DJ — Djibouti'), ('DK', 'DK — Denmark'), ('DM', 'DM — Dominica'), ('DO', 'DO — Dominican Republic'), ('DZ', 'DZ — Algeria'), ('EC', 'EC — Ecuador'), ('EE', 'EE — Estonia'), ('EG', 'EG — Egypt'), ('EH', 'EH — Western Sahara'), ('ER', 'ER — Eritrea'), ('ES', 'ES — Spain'), ('ET', 'ET — Ethiopia'), ('FI', 'FI — Finland'), ('FJ', 'FJ — Fiji'), ('FK', 'FK — Falkland Islands'), ('FM', 'FM — Micronesia'), ('FO', 'FO — Faroe Islands'), ('FR', 'FR — France'), ('GA', 'GA — Gabon'), ('GB', 'GB — United Kingdom'), ('GD', 'GD — Grenada'), ('GE', 'GE — Georgia'), ('GF', 'GF — French Guiana'), ('GG', 'GG — Guernsey'), ('GH', 'GH — Ghana'), ('GI', 'GI — Gibraltar'), ('GL', 'GL — Greenland'), ('GM', 'GM — Gambia'), ('GN', 'GN — Guinea'), ('GP', 'GP — Guadeloupe'), ('GQ', 'GQ — Equatorial Guinea'), ('GR', 'GR — Greece'), ('GS', 'GS — South Georgia and the South Sandwich Islands'), ('GT', 'GT — Guatemala'), ('GU', 'GU — Guam'), ('GW', 'GW — Guinea-Bissau'), ('GY', 'GY — Guyana'), ('HK', 'HK — Hong Kong'), ('HM', 'HM — Heard Island and McDonald Islands'), ('HN', 'HN — Honduras'), ('HR', 'HR — Croatia'), ('HT', 'HT — Haiti'), ('HU', 'HU — Hungary'), ('ID', 'ID — Indonesia'), ('IE', 'IE — Ireland'), ('IL', 'IL — Israel'), ('IM', 'IM — Isle of Man'), ('IN', 'IN — India'), ('IO', 'IO — British Indian Ocean Territory'), ('IQ', 'IQ — Iraq'), ('IR', 'IR — Iran'), ('IS', 'IS — Iceland'), ('IT', 'IT — Italy'), ('JE', 'JE — Jersey'), ('JM', 'JM — Jamaica'), ('JO', 'JO — Jordan'), ('JP', 'JP — Japan'), ('KE', 'KE — Kenya'), ('KG', 'KG — Kyrgyzstan'), ('KH', 'KH — Cambodia'), ('KI', 'KI — Kiribati'), ('KM', 'KM — Comoros'), ('KN', 'KN — Saint Kitts and Nevis'), ('KP', "KP — Korea (Democratic People's Republic)"), ('KR', 'KR — Korea (Republic)'), ('KW', 'KW — Kuwait'), ('KY', 'KY — Cayman Islands'), ('KZ', 'KZ — Kazakhstan'), ('LA', "LA — Lao People's Democratic Republic"), ('LB', 'LB — Lebanon'), ('LC', 'LC — Saint Lucia'), ('LI', 'LI — Liechtenstein'), ('LK', 'LK — Sri Lanka'), ('LR', 'LR — Liberia'), ('LS', 'LS — Lesotho'), ('LT', 'LT — Lithuania'), ('LU', 'LU — Luxembourg'), ('LV', 'LV — Latvia'), ('LY', 'LY — Libya'), ('MA', 'MA — Morocco'), ('MC', 'MC — Monaco'), ('MD', 'MD — Moldova'), ('ME', 'ME — Montenegro'), ('MF', 'MF — Saint Martin (French part)'), ('MG', 'MG — Madagascar'), ('MH', 'MH — Marshall Islands'), ('MK', 'MK — North Macedonia'), ('ML', 'ML — Mali'), ('MM', 'MM — Myanmar'), ('MN', 'MN — Mongolia'), ('MO', 'MO — Macao'), ('MP', 'MP — Northern Mariana Islands'), ('MQ', 'MQ — Martinique'), ('MR', 'MR — Mauritania'), ('MS', 'MS — Montserrat'), ('MT', 'MT — Malta'), ('MU', 'MU — Mauritius'), ('MV', 'MV — Maldives'), ('MW', 'MW — Malawi'), ('MX', 'MX — Mexico'), ('MY', 'MY — Malaysia'), ('MZ', 'MZ — Mozambique'), ('NA', 'NA — Namibia'), ('NC', 'NC — New Caledonia'), ('NE', 'NE — Niger'), ('NF', 'NF — Norfolk Island'), ('NG', 'NG — Nigeria'), ('NI', 'NI — Nicaragua'), ('NL', 'NL — Netherlands'), ('NO', 'NO — Norway'), ('NP', 'NP — Nepal'), ('NR', 'NR — Nauru'), ('NU', 'NU — Niue'), ('NZ', 'NZ — New Zealand'), ('OM', 'OM — Oman'), ('PA', 'PA — Panama'), ('PE', 'PE — Peru'), ('PF', 'PF — French Polynesia'), ('PG', 'PG — Papua New Guinea'), ('PH', 'PH — Philippines'), ('PK', 'PK — Pakistan'), ('PL', 'PL — Poland'), ('PM', 'PM — Saint Pierre and Miquelon'), ('PN', 'PN — Pitcairn'), ('PR', 'PR — Puerto Rico'), ('PS', 'PS — Palestine'), ('PT', 'PT — Portugal'), ('PW', 'PW — Palau'), ('PY', 'PY — Paraguay'), ('QA', 'QA — Qatar'), ('RE', 'RE — Réunion'), ('RO', 'RO — Romania'), ('RS', 'RS — Serbia'), ('RU', 'RU — Russian Federation'), ('RW', 'RW — Rwanda'), ('SA', 'SA — Saudi Arabia'), ('SB', 'SB — Solomon Islands'), ('SC', 'SC — Seychelles'), ('SD', 'SD — Sudan'), ('SE', 'SE — Sweden'), ('SG', 'SG — Singapore'), ('SH', 'SH — Saint Helena, Ascension and Tristan da Cunha'), ('SI', 'SI — Slovenia'), ('SJ', 'SJ — Svalbard and Jan Mayen'), ('SK', 'SK — Slovakia'), ('SL', 'SL — Sierra Leone'), ('SM', 'SM — San Marino'), ('SN', 'SN — Senegal'), ('SO', 'SO — Somalia'), ('SR', 'SR — Suriname'), ('SS', 'SS — South Sudan'), ('ST', 'ST — Sao Tome and Principe'), ('SV', 'SV — El Salvador'), ('SX', 'SX — Sint Maarten (Dutch part)'), ('SY', 'SY — Syria'), ('SZ', 'SZ — Eswatini'), ('TC', 'TC — Turks and Caicos Islands'), ('TD', 'TD — Chad'), ('TF', 'TF — French Southern Territories'), ('TG', 'TG — Togo'), ('TH', 'TH — Thailand'), ('TJ', 'TJ — Tajikistan'), ('TK', 'TK — Tokelau'), ('TL', 'TL — Timor-Leste'), ('TM', 'TM — Turkmenistan'), ('TN', 'TN — Tunisia'), ('TO', 'TO — Tonga'), ('TR', 'TR — Türkiye'), ('TT', 'TT — Trinidad and Tobago'), ('TV', 'TV — Tuvalu'), ('TW', 'TW — Taiwan'), ('TZ', 'TZ — Tanzania'), ('UA', 'UA — Ukraine'), ('UG', 'UG — Uganda'), ('UM', 'UM — United States Minor Outlying Islands'), ('US', 'US — United States'), ('UY', 'UY — Uruguay'), ('UZ', 'UZ — Uzbekistan'), ('VA', 'VA — Holy See'), ('VC', 'VC — Saint Vincent and the Grenadines'), ('VE', 'VE — Venezuela'), ('VG', 'VG — Virgin Islands (British)'), ('VI', 'VI — Virgin Islands (U.S.)'), ('VN', 'VN — Viet Nam'), ('VU', 'VU — Vanuatu'), ('WF', 'WF — Wallis and Futuna'), ('WS', 'WS — Samoa'), ('XK', 'XK — Kosovo'), ('YE', 'YE — Yemen'), ('YT', 'YT — Mayotte'), ('ZA', 'ZA — South Africa'), ('ZM', 'ZM — Zambia'), ('ZW', 'ZW — Zimbabwe')], help_text='Whose authority.', max_length=2)),
            ('created_at', models.DateTimeField()),
            ('exported_at', models.DateTimeField(blank=True, null=True)),
        ],
    ),
    migrations.CreateModel(
        name='StepRun',
        fields=[
            ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
            ('occurrence', models.PositiveIntegerField(default=1, help_text='1 the first time, 2 the first repeat, …')),
            ('action', models.CharField(choices=[('repeat_notice', 'Repeat the notice to the provider'), ('analyst_alert', 'Alert the analysts'), ('upstream_notice', 'Notice to the upstream network (transit / parent network)'), ('partner_handoff', 'Hand-off e-mail to the partner hotline of the hosting country'), ('refer_law_enforcement', 'Referral record for law enforcement'), ('refer_dsc', "Referral record for the provider's Digital Services Coordinator")], max_length=24)),
            ('status', models.CharField(choices=[('queued', 'Queued for delivery'), ('done', 'Done (delivered, made available or recorded)'), ('skipped', 'Not applicable to this case'), ('retrying', 'Failed, to be retried'), ('cancelled', 'Cancelled (the content was removed first)')], max_length=10)),
            ('attempts', models.PositiveIntegerField(default=1)),
            ('next_attempt_at', models.DateTimeField(blank=True, help_text='When a failed run is retried.', null=True)),
            ('last_error', models.TextField(blank=True)),
            ('target', models.TextField(blank=True, help_text='Who it went to, in words.')),
            ('detail', models.JSONField(blank=True, default=dict)),
            ('created_at', models.DateTimeField()),
            ('performed_at', models.DateTimeField(blank=True, help_text='Taken: queued, made available, recorded (or found not applicable).', null=True)),
            ('delivered_at', models.DateTimeField(blank=True, help_text='Accepted by SMTP, made available in the portal and API, or recorded.', null=True)),
        ],
    ),
    migrations.RemoveConstraint(
        model_name='escalation',
        name='escalation_unique_level',
    ),
    migrations.RemoveConstraint(
        model_name='webhookdelivery',
        name='webhook_delivery_once',
    ),
    migrations.AddField(
        model_name='outgoingmessage',
        name='url_ids',
        field=models.JSONField(blank=True, help_text="The URLs an escalation mail names (null: all of its notice's, as a notice mail).", null=True),
    ),
    migrations.AlterField(
        model_name='escalation',
        name='level',
        field=models.PositiveSmallIntegerField(help_text="The step's position in its ladder."),
    ),
    migrations.AlterField(
        model_name='outgoingmessage',
        name='status',
        field=models.CharField(choices=[('pending', 'Pending'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed permanently'), ('cancelled', 'Cancelled before sending (no longer wanted)')], default='pending', max_length=10),
    ),
    migrations.AddField(
        model_name='analystalert',
        name='acknowledged_by',
        field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
    ),
    migrations.AddField(
        model_name='analystalert',
        name='notice',
        field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='alerts', to='notices.notice'),
    ),
    migrations.AddField(
        model_name='analystalert',
        name='provider',
        field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='notices.hostingprovider'),
    ),
    migrations.AddField(
        model_name='analystalert',
        name='resolved_by',
        field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
    ),
    migrations.AddField(
        model_name='analystalert',
        name='url',
        field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='notices.url'),
    ),
    migrations.AddField(
        model_name='escalationpolicy',
        name='provider',
        field=models.ForeignKey(blank=True, help_text='Blank: the default for the notice type. Set: overrides it for this provider.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='escalation_policies', to='notices.hostingprovider'),
    ),
    migrations.AddField(
        model_name='escalationstep',
        name='policy',
        field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='steps', to='notices.escalationpolicy'),
    ),
    migrations.AddField(
        model_name='referral',
        name='notice',
        field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='referrals', to='notices.notice'),
    ),
    migrations.AddField(
        model_name='referral',
        name='provider',
        field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='notices.hostingprovider'),
    ),
    migrations.AddField(
        model_name='referral',
        name='urls',
        field=models.ManyToManyField(related_name='referrals', to='notices.url'),
    ),
    migrations.AddField(
        model_name='steprun',
        name='notice',
        field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='step_runs', to='notices.notice'),
    ),
    migrations.AddField(
        model_name='steprun',
        name='step',
        field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='notices.escalationstep'),
    ),
    migrations.AddField(
        model_name='referral',
        name='run',
        field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='notices.steprun'),
    ),
    migrations.AddField(
        model_name='escalation',
        name='run',
        field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='cases', to='notices.steprun'),
    ),
    migrations.AddField(
        model_name='outgoingmessage',
        name='run',
        field=models.ForeignKey(blank=True, help_text='The escalation step this mail delivers (a repeat notice, an upstream notice, a hand-off).', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='messages', to='notices.steprun'),
    ),
    migrations.AddField(
        model_name='webhookdelivery',
        name='run',
        field=models.ForeignKey(blank=True, help_text='A repeat notice made available to an API-only provider (event notice.reminder).', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='webhook_deliveries', to='notices.steprun'),
    ),
    migrations.AddConstraint(
        model_name='escalation',
        constraint=models.UniqueConstraint(condition=models.Q(('run__isnull', False)), fields=('url', 'run'), name='escalation_once_per_run'),
    ),
    migrations.AddConstraint(
        model_name='webhookdelivery',
        constraint=models.UniqueConstraint(condition=models.Q(('run__isnull', True)), fields=('endpoint', 'notice'), name='webhook_delivery_once'),
    ),
    migrations.AddConstraint(
        model_name='webhookdelivery',
        constraint=models.UniqueConstraint(condition=models.Q(('run__isnull', False)), fields=('endpoint', 'run'), name='webhook_reminder_once'),
    ),
    migrations.AddIndex(
        model_name='analystalert',
        index=models.Index(condition=models.Q(('status', 'resolved'), _negated=True), fields=['created_at'], name='alert_open_idx'),
    ),
    migrations.AddConstraint(
        model_name='analystalert',
        constraint=models.UniqueConstraint(condition=models.Q(('status', 'resolved'), _negated=True), fields=('key',), name='alert_one_open_per_key'),
    ),
    migrations.AddConstraint(
        model_name='escalationpolicy',
        constraint=models.UniqueConstraint(condition=models.Q(('active', True), ('provider__isnull', True)), fields=('notice_type',), name='escalation_policy_one_default', violation_error_message='Another active default policy has this notice type.'),
    ),
    migrations.AddConstraint(
        model_name='escalationpolicy',
        constraint=models.UniqueConstraint(condition=models.Q(('active', True), ('provider__isnull', False)), fields=('notice_type', 'provider'), name='escalation_policy_one_per_provider', violation_error_message='Another active policy has this notice type and provider.'),
    ),
    migrations.AddConstraint(
        model_name='escalationstep',
        constraint=models.UniqueConstraint(fields=('policy', 'position'), name='escalation_step_position'),
    ),
    migrations.AddConstraint(
        model_name='escalationstep',
        constraint=models.CheckConstraint(condition=models.Q(('anchor', 'deadline'), ('delay__gte', datetime.timedelta(0)), _connector='OR'), name='escalation_step_delay_sign', violation_error_message='Only a delay from the deadline may be negative (to remind before).'),
    ),
    migrations.AddConstraint(
        model_name='escalationstep',
        constraint=models.CheckConstraint(condition=models.Q(('repeat_every__isnull', True), ('repeat_every__gt', datetime.timedelta(0)), _connector='OR'), name='escalation_step_repeat_positive', violation_error_message='A repeat interval must be longer than zero.'),
    ),
    migrations.AddConstraint(
        model_name='steprun',
        constraint=models.UniqueConstraint(condition=models.Q(('step__isnull', False)), fields=('notice', 'step', 'occurrence'), name='step_run_once'),
    ),
]
# --- end of generated operations ---


HOUR, DAY = timedelta(hours=1), timedelta(days=1)
# (action, anchor, delay, repeat every); positions follow the order.
DEFAULT_LADDER = [
    ("repeat_notice", "notice", DAY, DAY),
    ("analyst_alert", "notice", 2 * DAY, None),
    ("upstream_notice", "notice", 3 * DAY, None),
    ("partner_handoff", "notice", 3 * DAY, None),
    ("refer_law_enforcement", "notice", 7 * DAY, None),
    ("refer_dsc", "notice", 7 * DAY, None),
]
REMOVAL_ORDER_LADDER = [
    ("analyst_alert", "deadline", timedelta(0), None),
    ("repeat_notice", "deadline", timedelta(0), HOUR),
]
LEGACY_ACTIONS = ["repeat_notice", "analyst_alert", "upstream_notice"]


def legacy_ladder(raw: str) -> list[tuple]:
    """The old fixed ladder from an ESCALATION_STEPS value: offsets after the deadline ("0,72h,7d")."""
    from tracker.env import parse_duration  # noqa: PLC0415 (read at migration time only)

    offsets = [parse_duration(part, name="ESCALATION_STEPS") for part in raw.split(",") if part.strip()]
    return [
        (action, "deadline", timedelta(seconds=offset), None)
        for action, offset in zip(LEGACY_ACTIONS, offsets, strict=False)
    ]


def create_policies(apps, schema_editor):
    policy_model, step_model = apps.get_model("notices", "EscalationPolicy"), apps.get_model("notices", "EscalationStep")
    legacy = os.environ.get("ESCALATION_STEPS", "").strip()
    ladder = legacy_ladder(legacy) if legacy else DEFAULT_LADDER
    source = f" (from ESCALATION_STEPS={legacy})" if legacy else ""
    for notice_type, name, steps in (
        ("hotline_notice", f"Hotline notice default{source}", ladder),
        ("trusted_flagger", f"Trusted-flagger notice default{source}", ladder),
        ("removal_order", "Removal order default", REMOVAL_ORDER_LADDER),
    ):
        policy = policy_model.objects.create(name=name, notice_type=notice_type, active=True)
        step_model.objects.bulk_create(
            step_model(policy=policy, position=n, action=action, anchor=anchor, delay=delay, repeat_every=every)
            for n, (action, anchor, delay, every) in enumerate(steps, 1)
        )


def adopt_old_steps(apps, schema_editor):
    """Step 3 of the module docstring, then step 4."""
    escalation_model, run_model = apps.get_model("notices", "Escalation"), apps.get_model("notices", "StepRun")
    step_model, url_model = apps.get_model("notices", "EscalationStep"), apps.get_model("notices", "Url")
    steps = {
        (step.policy.notice_type, step.action): step
        for step in step_model.objects.filter(policy__provider__isnull=True).select_related("policy")
    }
    runs = {}
    for row in escalation_model.objects.filter(run__isnull=True, notice__isnull=False).select_related("notice"):
        action = LEGACY_ACTIONS[row.level - 1] if 1 <= row.level <= len(LEGACY_ACTIONS) else None
        step = steps.get((row.notice.notice_type, action))
        if step is None:
            continue
        key = (row.notice_id, step.pk)
        if key not in runs:
            runs[key] = run_model.objects.create(
                notice_id=row.notice_id,
                step=step,
                occurrence=1,
                action=action,
                status="done",
                attempts=1,
                target="(before the escalation policies)",
                created_at=row.created_at,
                performed_at=row.created_at,
                delivered_at=row.created_at,
            )
        row.run, row.level = runs[key], step.position
        row.save(update_fields=["run", "level"])
    url_model.objects.filter(status="notified", next_escalation_at__isnull=True).update(
        next_escalation_at=Now()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0027_signin_limits"),
    ]

    operations = [
        *GENERATED,
        migrations.RunPython(create_policies, migrations.RunPython.noop),
        migrations.RunPython(adopt_old_steps, migrations.RunPython.noop),
    ]
