"""Demo only: when a demo provider says "removed", its demo page really goes away a little later."""

from __future__ import annotations

import logging
import random

from django.conf import settings

from notices.models import Url

logger = logging.getLogger(__name__)


def take_down_after_random_delay(
    control_url: str, urls: list[str], *, low: float = 5.0, high: float = 20.0
) -> None:
    """Ask the demo web host to answer 404 for each URL after a short random delay (so TTRs are real)."""
    # Imported here, not at the top: the demo web host's module is a demo tool, loaded only when the demo
    # runs.
    from notices.demo.web import DemoWebError, control_take_down  # noqa: PLC0415

    for url in urls:
        try:
            control_take_down(control_url, url, status=404, after=round(random.uniform(low, high), 1))
        except DemoWebError as exc:  # the demo web host may be down; the answer must still succeed
            logger.warning("demo take-down of %s failed: %s", url, exc)


def on_removal_reported(sender, *, notice, url_ids: list[int], **kwargs) -> None:
    """Receiver of `removal_reported` (connected at start-up): with DEMO_WEB_CONTROL_URL set, the demo web
    host really takes the pages down."""
    if settings.DEMO_WEB_CONTROL_URL:
        urls = list(Url.objects.filter(pk__in=url_ids).values_list("canonical", flat=True))
        take_down_after_random_delay(settings.DEMO_WEB_CONTROL_URL, urls)
