from datetime import timedelta

from notices.infra.retry import backoff


def test_backoff_doubles_from_the_base():
    assert [backoff(30, n) for n in (0, 1, 2, 3, 5)] == [
        timedelta(seconds=30),
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
        timedelta(seconds=480),
    ]
