"""A flaky site (5xx and timeouts, never really gone) must never be recorded as removed, over many cycles; and
nothing a site sends is ever stored."""

from __future__ import annotations

import asyncio
import itertools
import threading
from datetime import timedelta

import pytest
from aiohttp import web
from django.db import connection

from notices.models import Check, Url
from notices.services.checking import run_checks

MARKER = "BODY-MARKER-7f3a9c-never-stored"


class FlakySite:
    """Answers 500, then hangs past the read timeout, then 503, then 200 with a marked body, in turn."""

    def __init__(self) -> None:
        self.turns = itertools.cycle(["500", "hang", "503", "500", "hang", "live"])
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    async def _answer(self, request: web.Request) -> web.Response:
        turn = next(self.turns)
        if turn == "hang":
            await asyncio.sleep(5)
        status = 200 if turn == "live" else int(turn if turn != "hang" else 500)
        return web.Response(status=status, text=f"{MARKER} " * 50)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._answer)
        self.runner = web.AppRunner(app, access_log=None)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    def __enter__(self) -> FlakySite:
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.mark.django_db(transaction=True)  # observations are recorded on the writer thread's own connection
@pytest.mark.timeout(120)
def test_flaky_target_is_never_removed_and_no_body_is_stored(make_case, provider, now, settings):
    with FlakySite() as site:
        settings.CHECKER_CONNECT_TO = f"198.51.100.0/24=127.0.0.1:{site.port}"
        settings.CHECKER_READ_TIMEOUT = settings.CHECKER_TOTAL_TIMEOUT = 0.5
        settings.REMOVAL_CONFIRMATIONS, settings.REMOVAL_MIN_SPACING = 2, 0
        case = make_case("http://198.51.100.10/gallery/1.html", provider=provider, when=now)
        for cycle in range(24):
            Url.objects.filter(pk=case.pk).update(next_check_at=now + timedelta(minutes=cycle))
            assert run_checks(now=now + timedelta(minutes=cycle), limit=10) == 1

    case.refresh_from_db()
    outcomes = sorted(set(Check.objects.filter(url=case).values_list("outcome", flat=True)))
    assert outcomes == ["live", "unknown"]
    assert Check.objects.filter(url=case).count() == 24
    assert (case.status, case.removal_confirmed_at, case.consecutive_gone) == ("assessed", None, 0)
    with connection.cursor() as cursor:
        for table in ("notices_check", "notices_url", "notices_event", "notices_hostingtrace"):
            cursor.execute(
                f"SELECT count(*) FROM {table} t WHERE row_to_json(t)::text LIKE %s", [f"%{MARKER}%"]
            )
            assert cursor.fetchone() == (0,), table
