"""A Celery worker and beat through a broker restart and a database restart, for real: a Redis and a
PostgreSQL of the test's own, stopped and started while they run. Both keep running and resume by
themselves (a worker that a broker restart ends is restarted, see the test); every mail queued before,
during and after arrives exactly once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.db import connection

from notices.models import OutgoingMessage
from notices.services.notices import create_notices, queue_notice
from tests.outage import OwnPostgres, OwnRedis, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(115)]


@pytest.fixture
def own_services(own_var, transactional_db, make_provider):
    """(PostgreSQL, Redis) of the test's own; this process's ORM works on that PostgreSQL meanwhile."""
    make_provider()  # copied with the database
    database, broker = OwnPostgres(own_var / "pg"), OwnRedis(own_var / "redis")
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(
        NAME=database.dbname, HOST=str(database.socket_dir), PORT="", USER="postgres", PASSWORD=""
    )
    yield database, broker
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)
    broker.stop()
    database.cleanup()


def queue_one(n: int, now) -> OutgoingMessage:
    from notices.models import HostingProvider, HostingTrace, Url
    from notices.services.assessment import assess_url
    from notices.services.intake import ReportInput, submit_report

    provider = HostingProvider.objects.get(slug="polder")
    url = Url.objects.get(
        pk=submit_report(item=ReportInput(url=f"http://files.polder.example/{n}.html"), now=now).url_id
    )
    assess_url(url=url, analyst=None, legality="illegal_international", classification="A1", now=now)
    trace = HostingTrace.objects.create(
        url=url,
        traced_at=now,
        host=url.host,
        ips=["198.51.100.10"],
        ip="198.51.100.10",
        provider=provider,
        country="NL",
        asn=64500,
        sources=[],
    )
    Url.objects.filter(pk=url.pk).update(current_trace=trace, provider=provider)
    url.refresh_from_db()
    (notice,) = create_notices(urls=[url], notice_type="hotline_notice", now=now)
    queue_notice(notice=notice, now=now)
    return notice.messages.get()


def test_worker_and_beat_resume_after_database_and_broker_restarts(
    own_services, start_worker, smtp_sink, settings
):
    """The database restart the worker and its beat ride out. A Redis restart may end the worker instead:
    kombu 5.7's Redis transport fails closing a channel that holds unacknowledged messages once the server
    is gone ("Unrecoverable error: AttributeError … 'hostname'") — then the process manager restarts it, as
    `make run`'s supervisor does (tests/tracker/test_supervisor.py), and nothing it held is lost: the outbox
    sweep of the restarted worker sends what was claimed or queued meanwhile, once."""
    from django.utils import timezone

    database, broker = own_services
    env = {
        "DATABASE_URL": database.url,
        "CELERY_BROKER_URL": broker.url,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": settings.EMAIL_PORT,
        "OUTBOX_SWEEP_INTERVAL": 1,
        "OUTBOX_CLAIM_TIMEOUT": 3,
    }
    worker = start_worker(beat=True, **env)
    messages = [queue_one(0, timezone.now())]
    smtp_sink.wait_for(1, timeout=20)

    database.stop()
    time.sleep(3)  # beat's sweeps fail meanwhile: the worker logs them and carries on
    database.start()
    connection.close()
    messages.append(queue_one(1, timezone.now()))
    smtp_sink.wait_for(2, timeout=40)
    assert worker.poll() is None, "the worker (with its beat) died with the database restart"

    broker.stop()
    messages.append(queue_one(2, timezone.now()))  # committed while the broker is away
    time.sleep(3)
    broker.start()
    if worker.poll() is not None:  # see the docstring: restarted as its process manager would
        assert b"Unrecoverable error" in Path(worker.log_file.name).read_bytes()
        start_worker(beat=True, **env)
    smtp_sink.wait_for(3, timeout=40)

    time.sleep(2)  # a copy sent twice would arrive now
    assert sorted(m["Message-ID"].strip() for m in smtp_sink.messages()) == sorted(
        m.message_id for m in messages
    )
    wait_for(lambda: OutgoingMessage.objects.filter(status="sent").count() == 3, 20)
