"""Django system checks: configuration that must stop `manage.py migrate` / `check` rather than misbehave
later.

Registered from `NoticesConfig.ready()`. `make run` migrates on every start, so a broken setting stops it
there.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core import checks
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from notices.delivery.signing import configuration_errors


@checks.register()
def check_mail_signing(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """notices.E001: S/MIME or DKIM signing is configured but cannot work (a file missing or unreadable, not a
    key or certificate, the key not the certificate's, half the settings). Notices would otherwise go out
    unsigned or not at all."""
    return [
        checks.Error(message, hint='See README, "Signing, alerts and inbound mail".', id="notices.E001")
        for message in configuration_errors()
    ]


@checks.register()
def check_analyst_alert_emails(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """notices.E002: an address in ANALYST_ALERT_EMAILS that is not an e-mail address."""
    errors = []
    for address in settings.ANALYST_ALERT_EMAILS:
        try:
            validate_email(address)
        except ValidationError:
            errors.append(
                checks.Error(
                    f"ANALYST_ALERT_EMAILS: {address!r} is not an e-mail address.", id="notices.E002"
                )
            )
    return errors


@checks.register()
def check_escalation_steps_retired(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """notices.W001: ESCALATION_STEPS is still set. It is no longer read: the ladders are escalation policies
    in the admin (migration 0028 turned a value set at upgrade time into the default policies)."""
    if not os.environ.get("ESCALATION_STEPS"):
        return []
    return [
        checks.Warning(
            "ESCALATION_STEPS is set but no longer read; escalation ladders are policies in the admin.",
            hint='Edit them under "Escalation policies", then unset ESCALATION_STEPS (README "Escalation").',
            id="notices.W001",
        )
    ]
