"""The demo web host and its control API, over real HTTP with urllib."""

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from notices.demo.web import DemoWeb, DemoWebError, DemoWebUnavailable, control_take_down


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


@pytest.fixture
def demo_web():
    server = DemoWeb()
    server.start()
    yield server
    server.stop()


def _fetch(port: int, host: str, path: str) -> tuple[int, str, str | None]:
    """(status, body, Location) for GET path on the demo web, sent with the given Host header."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    try:
        with _opener.open(request, timeout=2) as response:
            return response.status, response.read().decode(), response.headers.get("Location")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode(), error.headers.get("Location")


def _control(demo_web: DemoWeb) -> str:
    return f"http://127.0.0.1:{demo_web.control_port}"


def _set_page(control_url: str, url: str, status: int, location: str) -> None:
    """POST /control/set-page, as an operator of the running demo would (README: control API on 18081)."""
    body = json.dumps({"url": url, "status": status, "location": location}).encode()
    request = urllib.request.Request(
        f"{control_url}/control/set-page",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with _opener.open(request, timeout=2) as response:
        assert response.status == 200


def test_web_live_page_answers_placeholder_for_its_host(demo_web):
    demo_web.set_page("site.example", "/gallery/1")

    assert _fetch(demo_web.port, "Site.Example:8080", "/gallery/1") == (200, "demo page\n", None)


def test_web_unknown_page_is_404(demo_web):
    demo_web.set_page("site.example", "/gallery/1")

    assert _fetch(demo_web.port, "other.example", "/gallery/1")[0] == 404
    assert _fetch(demo_web.port, "site.example", "/gallery/2")[0] == 404


def test_web_take_down_after_delay_answers_404_later(demo_web):
    demo_web.set_page("site.example", "/page")
    demo_web.take_down("site.example", "/page", after=0.2)

    assert _fetch(demo_web.port, "site.example", "/page")[0] == 200
    time.sleep(0.3)
    assert _fetch(demo_web.port, "site.example", "/page") == (404, "404\n", None)


def test_web_restore_makes_page_live_again(demo_web):
    demo_web.set_page("site.example", "/page")
    demo_web.take_down("site.example", "/page", status=410)
    assert _fetch(demo_web.port, "site.example", "/page")[0] == 410

    demo_web.restore("site.example", "/page")

    assert _fetch(demo_web.port, "site.example", "/page")[0] == 200


def test_web_redirect_page_sends_location(demo_web):
    demo_web.set_page("site.example", "/old", status=302, location="http://site.example/")

    assert _fetch(demo_web.port, "site.example", "/old") == (302, "", "http://site.example/")


def test_web_query_matches_exactly_else_falls_back_to_path(demo_web):
    demo_web.set_page("site.example", "/a")
    demo_web.set_page("site.example", "/b?id=2")

    assert _fetch(demo_web.port, "site.example", "/a?x=1")[0] == 200
    assert _fetch(demo_web.port, "site.example", "/b?id=2")[0] == 200
    assert _fetch(demo_web.port, "site.example", "/b")[0] == 404


def test_web_control_take_down_from_another_thread(demo_web):
    demo_web.set_page("site.example", "/page")
    errors = []

    def take_down():
        try:
            control_take_down(_control(demo_web), "http://SITE.example:8080/page", status=410, after=0.0)
        except DemoWebError as error:
            errors.append(error)

    worker = threading.Thread(target=take_down)
    worker.start()
    worker.join(timeout=2)

    assert errors == []
    assert _fetch(demo_web.port, "site.example", "/page")[0] == 410


def test_web_control_pages_lists_pending_take_down(demo_web):
    _set_page(_control(demo_web), "http://site.example/moved", status=301, location="http://site.example/")
    control_take_down(_control(demo_web), "http://site.example/page", after=60)

    with _opener.open(f"{_control(demo_web)}/control/pages", timeout=2) as response:
        pages = json.load(response)

    assert [page["url"] for page in pages] == ["http://site.example/moved", "http://site.example/page"]
    assert pages[0] == {
        "url": "http://site.example/moved",
        "status": 301,
        "location": "http://site.example/",
        "down_status": None,
        "down_in": None,
    }
    assert (pages[1]["status"], pages[1]["down_status"]) == (404, 404)
    assert 59 < pages[1]["down_in"] <= 60


def test_web_control_rejects_invalid_status(demo_web):
    with pytest.raises(DemoWebError, match=r"\(400\).*status must be an HTTP status code"):
        control_take_down(_control(demo_web), "http://site.example/page", status=999)


def test_web_control_take_down_raises_when_not_running():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]

    with pytest.raises(DemoWebUnavailable, match="is not reachable"):
        control_take_down(f"http://127.0.0.1:{free_port}", "http://site.example/page")


def test_web_cli_serves_pages_until_sigterm(tmp_path):
    pages_file = tmp_path / "pages.json"
    pages_file.write_text('[{"url": "http://cli.example/page", "status": 200}]')
    command = [
        sys.executable,
        "-m",
        "notices.demo.web",
        "--port",
        "0",
        "--control-port",
        "0",
        "--pages-json",
        str(pages_file),
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        port = int(proc.stdout.readline().split()[4].rsplit(":", 1)[1])
        answer = _fetch(port, "cli.example", "/page")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0

    assert answer == (200, "demo page\n", None)


def test_web_live_host_serves_every_path_until_taken_down(demo_web):
    demo_web.live_hosts.add("files.provider.example")

    assert _fetch(demo_web.port, "files.provider.example", "/any/path?id=1")[0] == 200
    demo_web.take_down("files.provider.example", "/any/path?id=1", after=0.3)
    assert _fetch(demo_web.port, "files.provider.example", "/any/path?id=1")[0] == 200
    time.sleep(0.4)
    assert _fetch(demo_web.port, "files.provider.example", "/any/path?id=1")[0] == 404
    assert _fetch(demo_web.port, "files.provider.example", "/other")[0] == 200


# --- take-downs survive a restart ---------------------------------------------------------------------------


def test_web_taken_down_page_stays_down_after_restart(tmp_path):
    state = tmp_path / "var" / "demo-web-pages.json"
    first = DemoWeb(state_file=state)
    first.live_hosts.add("files.provider.example")
    first.start()
    try:
        control_take_down(_control(first), "http://files.provider.example/gone", status=410)
        control_take_down(_control(first), "http://files.provider.example/later", after=30)
        _set_page(
            _control(first), "http://files.provider.example/moved", 301, "http://files.provider.example/"
        )
    finally:
        first.stop()
    assert not list(state.parent.glob(".*.tmp"))  # written atomically: nothing half-written left behind

    second = DemoWeb(state_file=state)
    second.live_hosts.add("files.provider.example")  # as `make run` configures it on every start
    second.start()
    try:
        assert _fetch(second.port, "files.provider.example", "/gone")[0] == 410
        assert _fetch(second.port, "files.provider.example", "/later")[0] == 200  # still pending
        assert _fetch(second.port, "files.provider.example", "/moved")[:3:2] == (
            301,
            "http://files.provider.example/",
        )
        assert _fetch(second.port, "files.provider.example", "/other")[0] == 200
        pending = next(page for page in second.pages() if page["url"].endswith("/later"))
        assert 25 < pending["down_in"] <= 30
    finally:
        second.stop()


def test_web_cli_keeps_take_downs_in_its_state_file_across_restarts(tmp_path):
    state = tmp_path / "pages-state.json"
    pages_file = tmp_path / "pages.json"
    pages_file.write_text('[{"url": "http://cli.example/page", "status": 200}]')
    command = [
        sys.executable,
        "-m",
        "notices.demo.web",
        "--port",
        "0",
        "--control-port",
        "0",
        "--pages-json",
        str(pages_file),
        "--state-file",
        str(state),
    ]
    statuses = []
    for round_ in range(2):
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
            words = proc.stdout.readline().split()
            port = int(words[4].rsplit(":", 1)[1])
            control = words[6].rstrip("),")
            statuses.append(_fetch(port, "cli.example", "/page")[0])
            if round_ == 0:
                control_take_down(control, "http://cli.example/page")
                statuses.append(_fetch(port, "cli.example", "/page")[0])
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
    assert statuses == [200, 404, 404]


def test_web_unreadable_state_file_is_a_clear_error(tmp_path):
    state = tmp_path / "state.json"
    state.write_text('{"pages": [{"host": "x.example"}]}')
    with pytest.raises(ValueError, match="unreadable"):
        DemoWeb(state_file=state).start()
