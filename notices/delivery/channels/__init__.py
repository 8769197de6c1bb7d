"""Delivery channels per provider: the abuse APIs a notice can go to instead of e-mail (README "Delivery
channels"). `base` is the interface, one module per provider's API, `sending` runs a claimed outbox message
through its channel."""

from __future__ import annotations

from notices.delivery.channels.aws import AwsAbuseSignal
from notices.delivery.channels.base import Channel
from notices.delivery.channels.cloudflare import Cloudflare
from notices.delivery.channels.webhook import Webhook

CHANNELS: dict[str, Channel] = {
    channel.name: channel for channel in (Cloudflare(), AwsAbuseSignal(), Webhook())
}
