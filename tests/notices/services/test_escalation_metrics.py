"""The escalation sweep counts each step it takes in `notices_escalation_steps_total` (README "Metrics"), once
its transaction commits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from notices.infra import metrics
from notices.services.escalation import sweep
from notices.services.notices import create_notices, mark_notice_sent, queue_notice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_policies")]
H = timedelta(hours=1)


def _steps(action: str) -> float:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=metrics.multiprocess_dir())
    return (
        registry.get_sample_value("notices_escalation_steps_total", {"action": action, "attempt": "first"})
        or 0
    )


def test_each_step_the_sweep_takes_is_counted_once(
    make_case, provider, now, django_capture_on_commit_callbacks
):
    start = (now - timedelta(days=30)).replace(microsecond=0)
    case = make_case(provider=provider, when=start)
    (notice,) = create_notices(urls=[case], notice_type="hotline_notice", now=start)
    mark_notice_sent(notice=queue_notice(notice=notice, now=start), at=start)
    with django_capture_on_commit_callbacks(execute=True):
        sweep(now=start)
    before = _steps("repeat_notice")
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(now=start + 24 * H) == 1
        assert sweep(now=start + 24 * H) == 0  # nothing more due: nothing counted
    assert _steps("repeat_notice") - before == 1
