"""The checker engine against a real local web server, a real local DNS server and a real forward "proxy".

URLs use only reserved names (*.example) and documentation addresses; the local DNS server answers them and
CHECKER_CONNECT_TO sends the connections to the local web server, exactly as in the demo.
"""

import asyncio
import dataclasses
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC

import pytest
from aiohttp import web
from dnslib import AAAA, QTYPE, RCODE, RR, A
from dnslib.server import DNSLogger, DNSServer

from notices.checks.engine import CheckConfig, CheckTarget, Observation, Outcome, check_each
from notices.checks.politeness import HostLimiter
from notices.infra.resolver import parse_resolver

DNS_RECORDS = {
    "site.example.": [("A", "198.51.100.7")],
    "other.example.": [("A", "198.51.100.8")],
    "a.example.": [("A", "198.51.100.10")],
    "b.example.": [("A", "198.51.100.11")],
    "once.example.": [("A", "198.51.100.20")],
    "private.example.": [("A", "10.0.0.1")],
    "meta.example.": [("A", "169.254.169.254")],
    "v6.example.": [("AAAA", "2001:db8::7")],
    "refused.example.": [("A", "203.0.113.9")],
    "slowdns.example.": [("A", "198.51.100.7")],
    "nodata.example.": [],  # the name exists, with neither A nor AAAA (NODATA)
}


def check_all(targets, config: CheckConfig) -> list[Observation]:
    """Every target's observation, in completion order, from the checker's streaming entry point."""
    observations: list[Observation] = []
    asyncio.run(check_each(targets, config, observations.append))
    return observations


class ExampleZone:
    """dnslib resolver: A/AAAA from DNS_RECORDS, SERVFAIL for servfail.example, a slow answer for slowdns."""

    def __init__(self) -> None:
        self.queries: Counter = Counter()

    def resolve(self, request, handler):
        reply = request.reply()
        name, qtype = str(request.q.qname).lower(), QTYPE[request.q.qtype]
        self.queries[(name, qtype)] += 1
        if name == "servfail.example.":
            reply.header.rcode = RCODE.SERVFAIL
        elif name not in DNS_RECORDS:
            reply.header.rcode = RCODE.NXDOMAIN
        else:
            if name == "slowdns.example.":
                time.sleep(0.8)
            for rtype, value in DNS_RECORDS[name]:
                if rtype == qtype:
                    rdata = A(value) if rtype == "A" else AAAA(value)
                    reply.add_answer(RR(name, getattr(QTYPE, rtype), rdata=rdata, ttl=60))
        return reply


class WebState:
    """What the local web server saw, read by the tests after a batch finished."""

    def __init__(self) -> None:
        self.port = 0
        self.hits: Counter = Counter()
        self.hosts: list[tuple[str, str, str]] = []  # (path, Host header, User-Agent)
        self.in_flight: Counter = Counter()
        self.max_in_flight: Counter = Counter()


def build_web_app(state: WebState) -> web.Application:
    """The demo "internet": one route per behaviour the outcome table distinguishes."""

    async def record(request: web.Request) -> None:
        state.hits[request.path] += 1
        state.hosts.append(
            (request.path, request.headers.get("Host", ""), request.headers.get("User-Agent", ""))
        )

    async def status(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(status=int(request.match_info["code"]), text="status page")

    def redirect(location):
        async def handler(request: web.Request) -> web.Response:
            await record(request)
            target = location(request) if callable(location) else location
            return web.Response(status=302, headers={"Location": target})

        return handler

    async def ok(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(text="ok")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(3)
        return web.Response(text="too late")

    async def slowloris(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(200):
            await response.write(b"x")
            await asyncio.sleep(0.05)
        return response

    async def reset(request: web.Request) -> web.Response:
        sock = request.transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        request.transport.abort()
        await asyncio.sleep(0.1)
        return web.Response(text="never sent")

    async def no_location(request: web.Request) -> web.Response:
        return web.Response(status=302, text="no location")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 10_000_000)

    async def count(request: web.Request) -> web.Response:
        host = request.headers["Host"]
        state.in_flight[host] += 1
        state.max_in_flight[host] = max(state.max_in_flight[host], state.in_flight[host])
        await asyncio.sleep(float(request.query.get("sleep", "0.1")))
        state.in_flight[host] -= 1
        await record(request)
        return web.Response(text="counted")

    chain = redirect(lambda r: f"/redir-chain/{int(r.match_info['n']) + 1}")
    app = web.Application()
    app.router.add_get("/", ok)
    app.router.add_get("/live", ok)
    app.router.add_get("/removed", ok)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/slow", slow)
    app.router.add_get("/slowloris", slowloris)
    app.router.add_get("/reset", reset)
    app.router.add_get("/big", big)
    app.router.add_get("/count", count)
    app.router.add_get("/redir-root", redirect("/"))
    app.router.add_get("/redir-relative/deeper", redirect("../live"))
    app.router.add_get("/redir-other-root", redirect("http://other.example/"))
    app.router.add_get("/redir-removed", redirect("/removed"))
    app.router.add_get("/redir-private", redirect(lambda r: f"http://127.0.0.1:{state.port}/private-only"))
    app.router.add_get("/redir-private-name", redirect("http://private.example/private-only"))
    app.router.add_get("/redir-ftp", redirect("ftp://site.example/file"))
    app.router.add_get("/redir-chain/{n}", chain)
    app.router.add_get("/redir-noloc", no_location)
    app.router.add_get(
        "/redir-to/{host}/{tail:.*}",
        redirect(lambda r: f"http://{r.match_info['host']}/{r.match_info['tail']}"),
    )
    app.router.add_get("/private-only", ok)
    return app


def build_proxy_app(seen: list[tuple[str, str]]) -> web.Application:
    """A stand-in vantage point: records the request line target and Host, answers 200 itself."""

    async def handler(request: web.Request) -> web.Response:
        seen.append((str(request.url), request.headers.get("Host", "")))
        return web.Response(text="via proxy")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


@contextmanager
def serve(app: web.Application) -> Iterator[int]:
    """Run `app` on 127.0.0.1:<free port> in a thread with its own event loop; yields the port."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coro):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=10)

    runner = web.AppRunner(app, shutdown_timeout=0.2, access_log=None)
    run(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    run(site.start())
    try:
        yield runner.addresses[0][1]
    finally:
        run(runner.cleanup())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclasses.dataclass
class Net:
    web: WebState
    zone: ExampleZone
    dns_port: int
    refused_port: int

    def config(self, **overrides) -> CheckConfig:
        connect_to = (
            f"198.51.100.0/24=127.0.0.1:{self.web.port},[2001:db8::]/32=127.0.0.1:{self.web.port},"
            f"203.0.113.9=127.0.0.1:{self.refused_port}"
        )
        settings = {
            "user_agent": "tracker-test/1.0",
            "connect_timeout": 0.5,
            "read_timeout": 0.5,
            "total_timeout": 2,
            "dns_timeout": 0.4,
            "concurrency": 10,
            "per_host_per_minute": 100_000,
            "resolver": f"127.0.0.1:{self.dns_port}",
            "connect_to": connect_to,
        }
        return CheckConfig(**(settings | overrides))

    def check(self, url: str, rules: tuple = (), **overrides) -> Observation:
        [observation] = check_all([CheckTarget(1, url, rules)], self.config(**overrides))
        return observation


@pytest.fixture(scope="module")
def net() -> Iterator[Net]:
    state, zone = WebState(), ExampleZone()
    dns_server = DNSServer(zone, address="127.0.0.1", port=0, logger=DNSLogger(logf=lambda line: None))
    dns_server.start_thread()
    try:
        with serve(build_web_app(state)) as port:
            state.port = port
            yield Net(state, zone, dns_server.server.server_address[1], closed_port())
    finally:
        dns_server.stop()
        dns_server.server.server_close()


def outcome_of(observation: Observation) -> tuple:
    return observation.outcome, observation.status_code, observation.error_class


def test_check_live_page_is_live(net):
    observation = net.check("http://site.example/live")

    assert outcome_of(observation) == (Outcome.LIVE, 200, "")
    assert observation.final_url == "http://site.example/live"
    assert observation.resolved_ip == "198.51.100.7"
    assert observation.redirects == 0
    assert observation.vantage == "direct"
    assert observation.checked_at.tzinfo == UTC
    assert observation.elapsed_ms < 1000


def test_check_sends_real_host_header_and_user_agent(net):
    net.check("http://site.example:8080/live?q=1")

    assert net.web.hosts[-1] == ("/live", "site.example:8080", "tracker-test/1.0")


def test_observation_has_no_body_field(net):
    observation = net.check("http://site.example/big")

    assert {f.name for f in dataclasses.fields(observation)} == {
        "key",
        "outcome",
        "status_code",
        "final_url",
        "error_class",
        "resolved_ip",
        "redirects",
        "elapsed_ms",
        "checked_at",
        "vantage",
    }


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (200, (Outcome.LIVE, 200, "")),
        (204, (Outcome.LIVE, 204, "")),
        (404, (Outcome.GONE, 404, "")),
        (410, (Outcome.GONE, 410, "")),
        (451, (Outcome.GONE, 451, "")),
        (401, (Outcome.BLOCKED, 401, "")),
        (403, (Outcome.BLOCKED, 403, "")),
        (429, (Outcome.UNKNOWN, 429, "http_error")),
        (500, (Outcome.UNKNOWN, 500, "http_error")),
        (503, (Outcome.UNKNOWN, 503, "http_error")),
        (418, (Outcome.UNKNOWN, 418, "http_error")),
        (304, (Outcome.UNKNOWN, 304, "http_error")),
    ],
)
def test_check_status_maps_to_outcome(net, code, expected):
    assert outcome_of(net.check(f"http://site.example/status/{code}")) == expected


def test_check_redirect_without_location_is_unknown(net):
    assert outcome_of(net.check("http://site.example/redir-noloc")) == (Outcome.UNKNOWN, 302, "http_error")


def test_check_redirect_to_root_is_soft_404(net):
    observation = net.check("http://site.example/redir-root")

    assert outcome_of(observation) == (Outcome.GONE, 200, "soft_404")
    assert (observation.final_url, observation.redirects) == ("http://site.example/", 1)


def test_check_redirect_to_other_hosts_root_is_soft_404(net):
    observation = net.check("http://site.example/redir-other-root")

    assert outcome_of(observation) == (Outcome.GONE, 200, "soft_404")
    assert (observation.final_url, observation.resolved_ip) == ("http://other.example/", "198.51.100.8")


def test_check_root_url_is_live_not_soft_404(net):
    assert outcome_of(net.check("http://site.example/")) == (Outcome.LIVE, 200, "")


def test_check_relative_redirect_is_followed(net):
    observation = net.check("http://site.example/redir-relative/deeper")

    assert outcome_of(observation) == (Outcome.LIVE, 200, "")
    assert (observation.final_url, observation.redirects) == ("http://site.example/live", 1)


def test_check_redirect_to_other_scheme_is_unknown(net):
    assert outcome_of(net.check("http://site.example/redir-ftp")) == (Outcome.UNKNOWN, 302, "bad_redirect")


def test_check_redirect_loop_stops_at_max_redirects(net):
    observation = net.check("http://site.example/redir-chain/0", max_redirects=3)

    assert outcome_of(observation) == (Outcome.UNKNOWN, 302, "too_many_redirects")
    assert (observation.final_url, observation.redirects) == ("http://site.example/redir-chain/3", 3)


def test_check_redirect_to_loopback_is_blocked(net):
    observation = net.check("http://site.example/redir-private")

    assert outcome_of(observation) == (Outcome.UNKNOWN, None, "blocked_target")
    assert observation.final_url == f"http://127.0.0.1:{net.web.port}/private-only"
    assert (observation.resolved_ip, observation.redirects) == ("127.0.0.1", 1)
    assert net.web.hits["/private-only"] == 0


def test_check_redirect_to_name_of_private_address_is_blocked(net):
    observation = net.check("http://site.example/redir-private-name")

    assert outcome_of(observation) == (Outcome.UNKNOWN, None, "blocked_target")
    assert (observation.resolved_ip, observation.redirects) == ("10.0.0.1", 1)
    assert net.web.hits["/private-only"] == 0


@pytest.mark.parametrize(
    ("name", "address"), [("private.example", "10.0.0.1"), ("meta.example", "169.254.169.254")]
)
def test_check_name_resolving_to_forbidden_address_is_blocked(net, name, address):
    observation = net.check(f"http://{name}/live")

    assert outcome_of(observation) == (Outcome.UNKNOWN, None, "blocked_target")
    assert observation.resolved_ip == address


def test_check_loopback_literal_is_blocked_by_default(net):
    before = net.web.hits["/private-only"]
    observation = net.check(f"http://127.0.0.1:{net.web.port}/private-only")

    assert outcome_of(observation) == (Outcome.UNKNOWN, None, "blocked_target")
    assert net.web.hits["/private-only"] == before


def test_check_loopback_literal_is_reached_when_private_allowed(net):
    observation = net.check(f"http://127.0.0.1:{net.web.port}/live", allow_private=True)

    assert outcome_of(observation) == (Outcome.LIVE, 200, "")
    assert observation.resolved_ip == "127.0.0.1"


@pytest.mark.parametrize(
    ("url", "address", "host_header"),
    [
        ("http://198.51.100.99/live", "198.51.100.99", "198.51.100.99"),
        ("http://[2001:db8::99]:8080/live", "2001:db8::99", "[2001:db8::99]:8080"),
    ],
)
def test_check_documentation_literal_goes_through_connect_to(net, url, address, host_header):
    observation = net.check(url)

    assert outcome_of(observation) == (Outcome.LIVE, 200, "")
    assert observation.resolved_ip == address
    assert net.web.hosts[-1][:2] == ("/live", host_header)


@pytest.mark.parametrize(
    "url", ["http://2130706433/", "http://127.1/live", "ftp://site.example/x", "not a url"]
)
def test_check_unusable_url_is_bad_url(net, url):
    assert outcome_of(net.check(url)) == (Outcome.UNKNOWN, None, "bad_url")


def test_check_aaaa_only_name_is_reached(net):
    observation = net.check("http://v6.example/live")

    assert outcome_of(observation) == (Outcome.LIVE, 200, "")
    assert observation.resolved_ip == "2001:db8::7"


def test_check_nxdomain_is_gone(net):
    observation = net.check("http://missing.example/live")

    assert outcome_of(observation) == (Outcome.GONE, None, "nxdomain")
    assert observation.resolved_ip == ""


def test_check_servfail_is_unknown(net):
    assert outcome_of(net.check("http://servfail.example/live")) == (Outcome.UNKNOWN, None, "servfail")


def test_check_dns_timeout_is_unknown(net):
    observation = net.check("http://slowdns.example/live", dns_timeout=0.3)

    assert outcome_of(observation) == (Outcome.UNKNOWN, None, "dns_timeout")
    assert observation.elapsed_ms < 700


def test_check_refused_connection_is_gone(net):
    observation = net.check("http://refused.example/live")

    assert outcome_of(observation) == (Outcome.GONE, None, "connection_refused")
    assert observation.resolved_ip == "203.0.113.9"


@pytest.mark.parametrize(
    ("host", "error_class"),
    [
        ("missing.example", "redirect_nxdomain"),
        ("nodata.example", "no_address"),
        ("servfail.example", "servfail"),
        ("slowdns.example", "dns_timeout"),
        ("refused.example", "redirect_connection_refused"),
    ],
)
def test_check_redirect_to_page_of_unreachable_host_is_unknown(net, host, error_class):
    """The reported site chose the redirect target: a target that does not resolve or refuses is no
    removal."""
    observation = net.check(f"http://site.example/redir-to/{host}/content/page.html", dns_timeout=0.3)

    assert outcome_of(observation) == (Outcome.UNKNOWN, None, error_class)
    assert (observation.final_url, observation.redirects) == (f"http://{host}/content/page.html", 1)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("missing.example", (Outcome.GONE, None, "soft_404")),
        ("refused.example", (Outcome.GONE, None, "soft_404")),
        ("nodata.example", (Outcome.UNKNOWN, None, "no_address")),
        ("servfail.example", (Outcome.UNKNOWN, None, "servfail")),
        ("slowdns.example", (Outcome.UNKNOWN, None, "dns_timeout")),
    ],
)
def test_check_redirect_to_root_of_unreachable_host(net, host, expected):
    """A page redirected to a root is the outcome table's soft 404, whether or not that root answers; a
    transient failure stays unknown."""
    observation = net.check(f"http://site.example/redir-to/{host}/", dns_timeout=0.3)

    assert outcome_of(observation) == expected


def test_check_tls_failure_is_unknown(net):
    assert outcome_of(net.check("https://site.example/live")) == (Outcome.UNKNOWN, None, "tls_error")


def test_check_slow_headers_time_out(net):
    observation = net.check("http://site.example/slow", read_timeout=0.3)

    assert outcome_of(observation) == (Outcome.UNKNOWN, None, "read_timeout")
    assert observation.elapsed_ms < 1000


def test_check_slowloris_body_is_decided_by_status(net):
    observation = net.check("http://site.example/slowloris", read_timeout=0.3)

    assert outcome_of(observation) == (Outcome.LIVE, 200, "")
    assert observation.elapsed_ms < 5000  # the body trickles for 10 s; a busy machine may add seconds, not 5


def test_check_slowloris_body_is_capped_by_total_timeout(net):
    observation = net.check("http://site.example/slowloris", read_timeout=5, total_timeout=0.6)

    assert outcome_of(observation) == (Outcome.LIVE, 200, "")
    assert observation.elapsed_ms < 5000  # below both the read timeout and the 10 s the body trickles for


def test_check_reset_is_unknown(net):
    assert outcome_of(net.check("http://site.example/reset")) == (Outcome.UNKNOWN, None, "reset")


def test_check_big_body_is_not_read(net):
    observation = net.check("http://site.example/big")

    assert outcome_of(observation) == (Outcome.LIVE, 200, "")
    assert observation.elapsed_ms < 500


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (((200, r"/removed$"),), (Outcome.GONE, 200, "removed_page_rule")),
        (((None, r"site\.example/removed"),), (Outcome.GONE, 200, "removed_page_rule")),
        (((404, r"/removed$"),), (Outcome.LIVE, 200, "")),
        (((200, r"/elsewhere$"),), (Outcome.LIVE, 200, "")),
    ],
)
def test_check_removed_page_rule(net, rules, expected):
    assert outcome_of(net.check("http://site.example/redir-removed", rules)) == expected


def test_check_many_returns_one_observation_per_target(net):
    urls = ["http://site.example/live", "http://missing.example/", "not a url", "http://private.example/"] * 5
    targets = (CheckTarget(key, url) for key, url in enumerate(urls))  # lazily, like a DB cursor

    observations = check_all(targets, net.config())

    assert sorted(o.key for o in observations) == list(range(20))
    assert Counter(o.outcome for o in observations) == {Outcome.LIVE: 5, Outcome.GONE: 5, Outcome.UNKNOWN: 10}


def test_check_many_resolves_each_host_once(net):
    targets = [CheckTarget(key, f"http://once.example/live?n={key}") for key in range(8)]

    observations = check_all(targets, net.config(per_host=8))

    assert [o.outcome for o in observations] == [Outcome.LIVE] * 8
    assert net.zone.queries[("once.example.", "A")] == 1


def test_check_many_respects_per_host_limit(net):
    targets = [
        CheckTarget(key, f"http://{host}/count") for key in range(12) for host in ("a.example", "b.example")
    ]

    observations = check_all(targets, net.config(per_host=2, concurrency=20))

    assert len(observations) == 24
    assert net.web.max_in_flight == {"a.example": 2, "b.example": 2}


def test_check_many_busy_host_does_not_block_others(net):
    slow = [CheckTarget(key, f"http://a.example/count?sleep=0.2&n={key}") for key in range(4)]
    targets = [*slow, CheckTarget(99, "http://b.example/live")]
    finished: list[int] = []

    asyncio.run(check_each(targets, net.config(per_host=1, concurrency=2), lambda o: finished.append(o.key)))

    assert finished == [99, 0, 1, 2, 3]


def test_check_via_proxy_reports_vantage_and_uses_proxy(net):
    seen: list[tuple[str, str]] = []
    with serve(build_proxy_app(seen)) as proxy_port:
        observation = net.check("http://site.example/live", proxy=f"http://127.0.0.1:{proxy_port}")

    assert outcome_of(observation) == (Outcome.LIVE, 200, "")
    assert observation.vantage == f"127.0.0.1:{proxy_port}"
    assert seen == [(f"http://127.0.0.1:{net.web.port}/live", "site.example")]


def test_check_via_proxy_still_blocks_private_targets(net):
    seen: list[tuple[str, str]] = []
    with serve(build_proxy_app(seen)) as proxy_port:
        observation = net.check("http://private.example/live", proxy=f"http://127.0.0.1:{proxy_port}")

    assert outcome_of(observation) == (Outcome.UNKNOWN, None, "blocked_target")
    assert seen == []


@pytest.mark.parametrize("field", ["concurrency", "per_host", "per_host_per_minute"])
def test_check_config_rejects_zero_limits(field):
    with pytest.raises(ValueError, match=f"CheckConfig.{field} must be at least 1"):
        CheckConfig(user_agent="tracker-test/1.0", **{field: 0})


def test_host_limiter_limits_starts_per_window():
    async def three_starts() -> list[float]:
        limiter, starts = HostLimiter(per_host=5, per_window=2, window=0.3), []
        for _ in range(3):
            await limiter.acquire("a.example")
            starts.append(time.monotonic())
            limiter.release("a.example")
        return starts

    starts = asyncio.run(three_starts())

    assert starts[1] - starts[0] < 0.1
    assert starts[2] - starts[0] >= 0.29


def test_check_many_politeness_wait_does_not_count_toward_total_timeout(net):
    targets = [CheckTarget(key, f"http://site.example/live?n={key}") for key in range(2)]
    config = net.config(per_host_per_minute=1, rate_window=0.5, total_timeout=0.3)

    started = time.monotonic()
    observations = check_all(targets, config)

    assert [outcome_of(o) for o in observations] == [(Outcome.LIVE, 200, "")] * 2
    assert time.monotonic() - started >= 0.5
    assert max(o.elapsed_ms for o in observations) < 300


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("", None),
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("[::1]:5353", ("::1", 5353)),
        ("::1", ("::1", 53)),
    ],
)
def test_parse_resolver_accepts_host_and_port(spec, expected):
    assert parse_resolver(spec) == expected


@pytest.mark.parametrize("spec", ["resolver.example", "127.0.0.1:0", "127.0.0.1:x", "[::1]:99999"])
def test_parse_resolver_rejects_bad_spec(spec):
    with pytest.raises(ValueError, match="DNS resolver"):
        parse_resolver(spec)
