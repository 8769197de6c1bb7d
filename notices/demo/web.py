"""The demo web host: one aiohttp server playing every `*.example` site, with pages that can be taken down.

The checker's connections are sent here (`CHECKER_CONNECT_TO`), so it sees real HTTP answers: a live page
answers 200 with a harmless placeholder text (never an image), a removed one 404/410, a moved one a redirect.
When a demo provider says "removed", the Django process tells this server over a control port to make the page
really answer 404 after a short delay — and the checker then measures an honest time-to-removal.

Two servers run in one background thread with its own event loop: the virtual hosts (chosen by the Host
header, port ignored) and the control API, bound to 127.0.0.1 only.

With a `state_file` (`make run`: `var/demo-web-pages.json`) the pages — taken down, pending, moved — are
written there after every change (a temporary file, then a rename) and read back at start, so a restart does
not bring removed pages back (which the checker would count as reappearances).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from tracker.embedded.signals import StopSignals

PLACEHOLDER_BODY = "demo page\n"
CONTROL_TIMEOUT = 3.0
CONTROL_HOST = "127.0.0.1"


class DemoWebError(RuntimeError):
    """The demo web control API refused a request."""


class DemoWebUnavailable(DemoWebError):
    """Nothing answers on the control port: the demo web is not running there."""


@dataclass
class Page:
    """What one (host, path) answers: `status` and `location`, then `down_status` from `down_at` on."""

    status: int = 200
    location: str | None = None
    down_status: int | None = None
    down_at: float | None = None

    def current(self, now: float) -> tuple[int, str | None]:
        if self.down_at is not None and now >= self.down_at:
            return self.down_status or 404, None
        return self.status, self.location


def normalize_host(host: str) -> str:
    """Host header or URL host → the key pages are stored under: lower-case, no port, no trailing dot."""
    hostname = urlsplit(f"//{host.strip()}").hostname or ""
    return hostname.rstrip(".")


def page_key_of(url: str) -> tuple[str, str]:
    """(host, path[?query]) for an http(s) URL, the way a request for it will be looked up."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"not an http(s) URL with a host: {url!r}")
    path = parts.path or "/"
    return normalize_host(parts.netloc), f"{path}?{parts.query}" if parts.query else path


class DemoWeb:
    """The demo "internet" web host plus its control API; pages live in memory and change at runtime."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, control_port: int = 0, *, state_file: Path | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.control_port = control_port
        self.state_file = Path(state_file) if state_file is not None else None
        self._pages: dict[tuple[str, str], Page] = {}
        self._save_lock = threading.Lock()
        self._state_loaded = False  # nothing is written before the file's pages are read (at start)
        # Hosts where every path without a page of its own is live (the demo's hosting customers).
        self.live_hosts: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._error: BaseException | None = None

    # --- pages ----------------------------------------------------------------------------------------------

    def set_page(self, host: str, path: str, status: int = 200, location: str | None = None) -> None:
        """Define what (host, path) answers from now on; cancels a pending take-down."""
        if location is not None and not isinstance(location, str):
            raise ValueError(f"location must be a URL string, got {location!r}")
        with self._lock:
            self._pages[_key(host, path)] = Page(_checked_status(status), location)
        self._save()

    def take_down(self, host: str, path: str, status: int = 404, after: float = 0.0) -> None:
        """Make the page answer `status` once `after` seconds have passed (an unknown page already 404s,
        unless its host is one of the `live_hosts`, where it stays live until then)."""
        if after < 0:
            raise ValueError(f"after must be >= 0 seconds, got {after}")
        key = _key(host, path)
        with self._lock:
            page = self._pages.setdefault(key, Page(status=200 if key[0] in self.live_hosts else 404))
            page.down_status = _checked_status(status)
            page.down_at = time.monotonic() + after
        self._save()

    def restore(self, host: str, path: str) -> None:
        """Undo a take-down: the page answers what set_page() last said (content that reappeared)."""
        with self._lock:
            page = self._pages.get(_key(host, path))
            if page is not None:
                page.down_status = page.down_at = None
        self._save()

    def pages(self) -> list[dict[str, Any]]:
        """Every known page with what it answers now, as the control API's `GET /control/pages` lists them."""
        now = time.monotonic()
        with self._lock:
            items = sorted(self._pages.items())
        return [_page_json(host, path, page, now) for (host, path), page in items]

    def answer(self, host: str, path: str) -> tuple[int, str | None]:
        """(status, location) a request for (host, path[?query]) gets; the query-less path is the fallback."""
        key = _key(host, path)
        with self._lock:
            page = self._pages.get(key) or self._pages.get((key[0], key[1].split("?", 1)[0]))
        if page is not None:
            return page.current(time.monotonic())
        return (200, None) if key[0] in self.live_hosts else (404, None)

    # --- state on disk --------------------------------------------------------------------------------------

    def _save(self) -> None:
        """Write every page to `state_file` (temporary file + rename: a reader never sees half a file).

        Take-down times are stored as wall-clock times, since the monotonic clock restarts with the process.
        """
        if self.state_file is None or not self._state_loaded:
            return
        with self._save_lock:  # the snapshot is taken inside: the last file written holds the last change
            mono, wall = time.monotonic(), time.time()
            with self._lock:
                entries = [
                    {
                        "host": host,
                        "path": path,
                        "status": page.status,
                        "location": page.location,
                        "down_status": page.down_status,
                        "down_at": None if page.down_at is None else wall + (page.down_at - mono),
                    }
                    for (host, path), page in sorted(self._pages.items())
                ]
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.state_file.with_name(f".{self.state_file.name}.{os.getpid()}.tmp")
            with open(tmp, "w") as handle:
                json.dump({"version": 1, "pages": entries}, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.state_file)

    def load_state(self) -> int:
        """Read the pages `state_file` holds (if it exists) over the ones defined so far; count them."""
        if self.state_file is None or not self.state_file.exists():
            self._state_loaded = True
            return 0
        try:
            entries = json.loads(self.state_file.read_text())["pages"]
            mono, wall = time.monotonic(), time.time()
            pages = {
                _key(entry["host"], entry["path"]): Page(
                    _checked_status(entry["status"]),
                    entry.get("location"),
                    entry.get("down_status"),
                    None if entry.get("down_at") is None else mono + (float(entry["down_at"]) - wall),
                )
                for entry in entries
            }
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"demo web state {self.state_file} is unreadable: {error}") from error
        with self._lock:
            self._pages.update(pages)
        self._state_loaded = True
        return len(pages)

    # --- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> tuple[int, int]:
        """Serve the virtual hosts and the control API in a background thread; return (port, control_port)."""
        if self._thread is not None:
            raise RuntimeError("demo web already running")
        self.load_state()
        self._save()  # pages defined before start (and the state file's own) are on disk from now on
        ready = threading.Event()
        self._error = None
        self._thread = threading.Thread(target=self._run, args=(ready,), name="demo-web")
        self._thread.start()
        ready.wait(timeout=30)
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise self._error
        return self.port, self.control_port

    def stop(self) -> None:
        """Close both servers and their connections, then join the thread (its event loop is closed)."""
        if self._thread is None:
            return
        assert self._loop is not None and self._stopping is not None
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join()
        self._thread = self._loop = self._stopping = None

    def _run(self, ready: threading.Event) -> None:
        try:
            asyncio.run(self._serve(ready))
        except BaseException as error:  # handed to start(), which re-raises it in the caller's thread
            self._error = error
        finally:
            ready.set()

    async def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        runners: list[web.AppRunner] = []
        try:
            self.port = await _start_site(runners, self._hosts_app(), self.host, self.port)
            self.control_port = await _start_site(
                runners, self._control_app(), CONTROL_HOST, self.control_port
            )
            ready.set()
            await self._stopping.wait()
        finally:
            for runner in reversed(runners):
                await runner.cleanup()

    # --- the virtual hosts ----------------------------------------------------------------------------------

    def _hosts_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle_page)
        return app

    async def _handle_page(self, request: web.Request) -> web.Response:
        host = normalize_host(request.host)
        status, location = self.answer(host, request.raw_path)
        headers = {"Cache-Control": "no-store"}
        if location and 300 <= status < 400:
            headers["Location"] = location
            return web.Response(status=status, headers=headers)
        text = PLACEHOLDER_BODY if status == 200 else f"{status}\n"
        return web.Response(status=status, text=text, headers=headers)

    # --- the control API ------------------------------------------------------------------------------------

    def _control_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/control/take-down", self._control_take_down)
        app.router.add_post("/control/set-page", self._control_set_page)
        app.router.add_post("/control/restore", self._control_restore)
        app.router.add_get("/control/pages", self._control_pages)
        return app

    async def _control_take_down(self, request: web.Request) -> web.Response:
        return await _apply(request, lambda body: self.take_down(*_body_key(body), *_take_down_args(body)))

    async def _control_set_page(self, request: web.Request) -> web.Response:
        return await _apply(
            request,
            lambda body: self.set_page(*_body_key(body), body.get("status", 200), body.get("location")),
        )

    async def _control_restore(self, request: web.Request) -> web.Response:
        return await _apply(request, lambda body: self.restore(*_body_key(body)))

    async def _control_pages(self, request: web.Request) -> web.Response:
        return web.json_response(self.pages())


async def _start_site(runners: list[web.AppRunner], app: web.Application, host: str, port: int) -> int:
    """Start `app` on host:port (0 = a free port), remember its runner for cleanup; return the bound port."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    runners.append(runner)
    await web.TCPSite(runner, host, port).start()
    return runner.addresses[0][1]


async def _apply(request: web.Request, change: Callable[[dict[str, Any]], None]) -> web.Response:
    """Run one control change from a JSON body; bad input is a 400 with `{"detail": ...}`, as our API does."""
    try:
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        change(body)
    except (ValueError, TypeError) as error:
        return web.json_response({"detail": str(error)}, status=400)
    return web.json_response({"ok": True})


def _body_key(body: dict[str, Any]) -> tuple[str, str]:
    url = body.get("url")
    if not isinstance(url, str):
        raise ValueError('"url" is required')
    return page_key_of(url)


def _take_down_args(body: dict[str, Any]) -> tuple[int, float]:
    after = body.get("after", 0.0)
    if isinstance(after, bool) or not isinstance(after, int | float):
        raise ValueError('"after" must be a number of seconds')
    return body.get("status", 404), float(after)


def _key(host: str, path: str) -> tuple[str, str]:
    return normalize_host(host), path if path.startswith("/") else f"/{path}"


def _checked_status(status: Any) -> int:
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"status must be an HTTP status code, got {status!r}")
    return status


def _page_json(host: str, path: str, page: Page, now: float) -> dict[str, Any]:
    status, location = page.current(now)
    pending = page.down_at is not None and now < page.down_at
    return {
        "url": f"http://{host}{path}",
        "status": status,
        "location": location,
        "down_status": page.down_status if pending else None,
        "down_in": round(page.down_at - now, 3) if pending else None,
    }


# --- client for other processes -----------------------------------------------------------------------------


def control_take_down(control_url: str, url: str, status: int = 404, after: float = 0.0) -> None:
    """Ask a running demo web (control URL like `http://127.0.0.1:18081`) to take `url` down in `after` s."""
    _post_control(control_url, "take-down", {"url": url, "status": status, "after": after})


def _post_control(control_url: str, action: str, payload: dict[str, Any]) -> None:
    """POST one control action; proxies are bypassed (the control port is loopback only)."""
    if urlsplit(control_url).scheme != "http":
        raise ValueError(f"the demo web control URL must be http://, got {control_url!r}")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above: http only)
        f"{control_url.rstrip('/')}/control/{action}",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=CONTROL_TIMEOUT) as response:
            response.read()
    except urllib.error.HTTPError as error:
        with error:
            detail = error.read().decode(errors="replace")
        raise DemoWebError(f"demo web refused {action} ({error.code}): {detail}") from None
    except OSError as error:  # URLError, refused, timed out
        raise DemoWebUnavailable(
            f"demo web control at {control_url} is not reachable ({error}); is the demo running (`make run`)?"
        ) from error


# --- process entry point ------------------------------------------------------------------------------------


def load_pages(web_host: DemoWeb, path: Path) -> int:
    """Load `[{"url", "status", "location"}, ...]` (the shape `GET /control/pages` returns); count them."""
    entries = json.loads(path.read_text())
    for entry in entries:
        web_host.set_page(*page_key_of(entry["url"]), entry.get("status", 200), entry.get("location"))
    return len(entries)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m notices.demo.web --port 18080 --control-port 18081 --pages-json FILE`; stops on a signal."""
    parser = argparse.ArgumentParser(description="Demo web host: many virtual hosts plus a control API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18080, help="0 picks a free port")
    parser.add_argument(
        "--control-port", type=int, default=18081, help="on 127.0.0.1 only; 0 picks a free port"
    )
    parser.add_argument(
        "--pages-json", type=Path, help='[{"url": "http://site.example/a", "status": 200}, ...]'
    )
    parser.add_argument(
        "--state-file", type=Path, help="keep the pages (take-downs too) here across restarts"
    )
    args = parser.parse_args(argv)
    stop = StopSignals()  # before binding and announcing: a signal right after "listening" stops cleanly
    web_host = DemoWeb(args.host, args.port, args.control_port, state_file=args.state_file)
    count = load_pages(web_host, args.pages_json) if args.pages_json else 0
    port, control_port = web_host.start()
    try:
        print(
            f"demo web listening on http://{args.host}:{port} "
            f"(control http://{CONTROL_HOST}:{control_port}), {count} pages",
            flush=True,
        )
        stop.wait()
    finally:
        web_host.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
