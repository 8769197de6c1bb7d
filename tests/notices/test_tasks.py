"""The sweep task's body: a full batch asks for the next sweep before checking its own."""

import pytest

from notices.models import Check
from notices.services.checking import run_checks


@pytest.mark.django_db(transaction=True)  # observations are recorded on the writer thread's own connection
def test_run_checks_full_batch_asks_for_another_sweep(make_case, provider, now, settings):
    settings.CHECKER_CONNECT_TO = "198.51.100.0/24=127.0.0.1:9"  # discard port: refused, so "gone"
    settings.CHECKER_CONNECT_TIMEOUT = 1
    for path in ("a", "b", "c"):
        make_case(f"http://198.51.100.10/{path}", provider=provider, when=now)
    calls = []

    assert run_checks(now=now, limit=2, on_full_batch=lambda: calls.append(1)) == 2
    assert calls == [1]
    assert run_checks(now=now, limit=2, on_full_batch=lambda: calls.append(1)) == 1
    assert calls == [1]  # a partial batch: nothing more is due
    assert Check.objects.count() == 3
    assert run_checks(now=now, limit=2) == 0
