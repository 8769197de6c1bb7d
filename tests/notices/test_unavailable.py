"""The web while PostgreSQL or the broker is away, for real: a cluster and a Redis of the test's own, stopped
and started under a running gunicorn (as `make run` starts it, persistent connections on). Every page and API
answers 503 with Retry-After (JSON under /api/), never a 500; /readyz names the dependency; once it is back,
every request succeeds by itself (connections are health-checked, none fails on a connection the restart
killed); a write the broker could not follow up is stored and found again by its sweep."""

from __future__ import annotations

import pytest

from notices.models import Partner
from notices.services.keys import create_api_key
from tests.outage import OwnPostgres, OwnRedis, request, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(110)]

PAGES = ["/portal/", "/admin/", "/admin/login/", "/api/v1/urls/", "/api/v1/providers/", "/api/v1/notices/"]
SESSION = {"Cookie": "sessionid=0123456789abcdefghijklmnopqrstuv"}  # a session to look up: pages need the DB


def headers_for(path: str, auth: dict) -> dict:
    return auth if path.startswith("/api/") else SESSION


@pytest.fixture
def outage(own_var, transactional_db, start_web):
    """(web process, its PostgreSQL, its Redis, a partner key) on dependencies the test can stop."""
    _, key = create_api_key(scope="partner", partner=Partner.objects.create(name="Partner Hotline"))
    database, broker = OwnPostgres(own_var / "pg"), OwnRedis(own_var / "redis")
    web = start_web(DATABASE_URL=database.url, CELERY_BROKER_URL=broker.url, DB_CONN_MAX_AGE="300")
    yield web, database, broker, {"Authorization": f"Bearer {key}"}
    broker.stop()
    database.cleanup()


def report(web, auth, url: str):
    return request(web.port, "/api/v1/reports/", method="POST", body={"url": url}, headers=auth)


def test_database_down_every_page_and_api_is_503_then_back_by_itself(outage):
    web, database, _, auth = outage
    assert report(web, auth, "http://files.polder.example/before.html")[0] == 201
    for path in PAGES * 2:  # every gunicorn thread holds a persistent connection now
        request(web.port, path, headers=headers_for(path, auth))

    database.stop()
    for path in PAGES * 3:
        status, headers, body = request(web.port, path, headers=headers_for(path, auth))
        assert (path, status) == (path, 503)
        assert headers["Retry-After"] == "10"
        if path.startswith("/api/"):
            assert body == {"detail": "Temporarily unavailable (database); try again in 10 seconds."}
        else:
            assert "Temporarily unavailable" in body and "Traceback" not in body
    status, headers, body = report(web, auth, "http://files.polder.example/during.html")
    assert (status, headers["Retry-After"], sorted(body)) == (503, "10", ["detail"])
    status, _, body = request(web.port, "/readyz")
    assert (status, body["status"], body["checks"]["broker"]) == (503, "fail", "ok")
    assert body["checks"]["database"].startswith("fail")

    database.start()
    wait_for(lambda: request(web.port, "/readyz")[0] == 200)
    statuses = [report(web, auth, f"http://files.polder.example/after-{n}.html")[0] for n in range(16)]
    statuses += [request(web.port, "/readyz")[0] for _ in range(16)]  # each a query
    assert statuses == [201] * 16 + [200] * 16  # no thread fails once on its dead connection
    assert " 500 " not in web.log_path.read_text()


def test_broker_down_writes_still_stored_broker_needs_answer_503(outage):
    web, _, broker, auth = outage
    status, _, body = report(web, auth, "http://files.polder.example/a.html")
    assert status == 201
    url_id = body["url"]["id"]

    broker.stop()
    status, _, body = request(web.port, "/readyz")
    assert (status, body["checks"]["database"]) == (503, "ok")
    assert body["checks"]["broker"].startswith("fail")
    assert report(web, auth, "http://files.polder.example/b.html")[0] == 201  # intake needs no broker
    broker.start()
    wait_for(lambda: request(web.port, "/readyz")[0] == 200)
    assert report(web, auth, "http://files.polder.example/c.html")[0] == 201
    assert url_id


def test_database_restarted_between_requests_no_request_fails(outage):
    """Every thread holds a persistent connection, the database restarts while nobody asks: each
    connection is checked before its next use, so not one request fails on a connection the restart
    killed."""
    web, database, _, auth = outage
    warm = [request(web.port, "/readyz")[0] for _ in range(24)]
    assert warm == [200] * 24
    database.stop()
    database.start()
    statuses = [request(web.port, "/readyz")[0] for _ in range(24)]
    statuses += [report(web, auth, f"http://files.polder.example/r-{n}.html")[0] for n in range(8)]
    assert statuses == [200] * 24 + [201] * 8
