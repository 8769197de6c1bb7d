"""Escalation: a case still up after its notice climbs a ladder of steps until the content is gone.

The ladders are policies a supervisor edits in the admin (`EscalationPolicy`: one per notice type, overridden
per provider), each an ordered list of steps "after T since the notice (or the previous step, or from the
deadline) without removal → action": repeat the notice to the provider, alert the analysts, notify the
upstream network, hand the case to the partner hotline of the hosting country, record a referral for law
enforcement or the provider's Digital Services Coordinator. The beat sweep (`sweep`, see `.sweep`) claims the
cases whose next step is due and takes them; `.steps` performs each action, `.delivery` records what the
outbox and the webhooks report about the deliveries.
"""

from notices.services.escalation.sweep import claim_due, sweep, take_steps

__all__ = ["claim_due", "sweep", "take_steps"]
