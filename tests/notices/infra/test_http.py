"""The guarded HTTP client against real local HTTP(S) and DNS servers: private and reserved targets refused
unless allowed (every DNS answer, every redirect hop), the connection pinned to the checked answer, the body
capped, one deadline for the whole exchange, TLS with SNI and hostname verification, redirects only when
asked."""

from __future__ import annotations

import datetime
import http.client as http_client
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from dnslib import QTYPE

from notices.demo.dns import DemoDnsServer
from notices.infra import http
from notices.infra.resolver import ResolveError
from notices.infra.ssrf import BlockedTarget, Guard

HOST = "hooks.polder.example"


class Site:
    """A real HTTP(S) server on loopback; `routes` maps a path to a function writing the response."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[tuple[str, str, str]] = []  # (method, path, Host header)
        self.routes = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one(self) -> None:
                site.requests.append((self.command, self.path, self.headers.get("Host", "")))
                length = int(self.headers.get("Content-Length") or 0)
                self.body = self.rfile.read(length) if length else b""
                site.routes.get(self.path, ok)(self)

            do_GET = do_POST = handle_one

            def log_message(self, *args) -> None:
                pass

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def respond(handler, status: int, body: bytes = b"", headers: dict | None = None) -> None:
    handler.send_response(status)
    for name, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def ok(handler) -> None:
    respond(handler, 200, f"{handler.command} {handler.path} {handler.body.decode()}".encode())


def redirect(location: str, status: int = 302):
    return lambda handler: respond(handler, status, headers={"Location": location})


@pytest.fixture
def site():
    server = Site()
    yield server
    server.stop()


ALLOW = Guard(allow_private=True)


def get(url: str, guard: Guard = ALLOW, **options) -> http.Response:
    return http.request("GET", url, guard=guard, timeout=options.pop("timeout", 5), **options)


# --- The guard --------------------------------------------------------------------------------------------


def test_request_refuses_private_and_reserved_targets_unless_allowed(site, dns_server):
    dns_server.set_record("inside.polder.example", "A", ["10.0.0.7"])
    dns_server.set_record("mixed.polder.example", "A", ["198.51.100.7", "127.0.0.1"])  # one bad answer
    strict = Guard()

    for url in (
        f"http://127.0.0.1:{site.port}/",
        "http://[::1]/",
        "http://169.254.169.254/latest/",
        "http://inside.polder.example/",
        f"http://mixed.polder.example:{site.port}/",
    ):
        with pytest.raises(BlockedTarget):
            get(url, strict)

    assert site.requests == []  # refused before any connection
    response = get(f"http://127.0.0.1:{site.port}/x", ALLOW)
    assert (response.status, response.body, response.address) == (200, b"GET /x ", "127.0.0.1")


def test_request_resolves_through_the_configured_server(site, dns_server):
    dns_server.set_record(HOST, "A", ["127.0.0.1"])

    response = get(f"http://{HOST}:{site.port}/in")

    assert (response.status, response.address) == (200, "127.0.0.1")
    assert site.requests == [("GET", "/in", f"{HOST}:{site.port}")]  # Host header names the URL's host
    with pytest.raises(ResolveError):
        get(f"http://missing.polder.example:{site.port}/")


class RebindingDns(DemoDnsServer):
    """Answers HOST's first A query with one address and every later one with another (DNS rebinding)."""

    def __init__(self, first: str, later: str) -> None:
        super().__init__({HOST: {"A": [first]}})
        self.later, self.a_queries = later, 0

    def resolve(self, request, handler):
        reply = super().resolve(request, handler)
        if QTYPE.get(request.q.qtype) == "A":
            self.a_queries += 1
            self.set_record(HOST, "A", [self.later])
        return reply


@pytest.fixture
def rebinding(settings):
    server = RebindingDns("198.51.100.7", "10.0.0.1")
    server.start()
    settings.DNS_RESOLVER = server.address
    yield server
    server.stop()


def test_request_connects_to_the_address_it_checked(site, rebinding):
    # 198.51.100.7 is allowed and the connect_to map sends its sockets to the local site; the second DNS
    # answer (10.0.0.1) would be refused: a client that resolved again to connect would fail or go elsewhere.
    guard = Guard.from_spec(f"198.51.100.0/24=127.0.0.1:{site.port}")

    response = http.request("POST", f"http://{HOST}/hook", guard=guard, timeout=5, body=b"payload")

    assert (response.status, response.body, response.address) == (200, b"POST /hook payload", "198.51.100.7")
    assert rebinding.a_queries == 1
    assert site.requests == [("POST", "/hook", HOST)]
    with pytest.raises(BlockedTarget, match=r"10\.0\.0\.1"):  # the next request resolves anew, and is checked
        http.request("POST", f"http://{HOST}/hook", guard=guard, timeout=5, body=b"payload")
    assert len(site.requests) == 1


# --- Size and time ----------------------------------------------------------------------------------------


def test_request_caps_the_body(site):
    site.routes["/big"] = lambda handler: respond(handler, 200, b"x" * 100_000)

    capped = get(f"http://127.0.0.1:{site.port}/big", max_bytes=100)
    whole = get(f"http://127.0.0.1:{site.port}/big", max_bytes=200_000)

    assert (len(capped.body), capped.truncated) == (100, True)
    assert (len(whole.body), whole.truncated) == (100_000, False)


def test_request_body_cut_short_is_a_broken_answer(site):
    def cut(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        handler.wfile.write(b"x" * 10)
        handler.close_connection = True

    site.routes["/cut"] = cut

    with pytest.raises(http_client.IncompleteRead):
        get(f"http://127.0.0.1:{site.port}/cut")


def drip(handler) -> None:
    """Headers at once, then one byte of a long body every 0.1 s: each read is quick, the whole is not."""
    handler.send_response(200)
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    try:
        for _ in range(100):
            handler.wfile.write(b"x")
            handler.wfile.flush()
            time.sleep(0.1)
    except OSError:
        pass  # the client hung up


def test_request_deadline_covers_the_whole_exchange(site):
    site.routes["/drip"] = drip

    started = time.monotonic()
    with pytest.raises(TimeoutError, match="timed out"):
        get(f"http://127.0.0.1:{site.port}/drip", timeout=0.6)

    assert 0.5 < time.monotonic() - started < 1.5


def test_request_times_out_on_a_silent_server(site):
    site.routes["/silent"] = lambda handler: time.sleep(3)

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        get(f"http://127.0.0.1:{site.port}/silent", timeout=0.4)

    assert time.monotonic() - started < 1.5


# --- TLS --------------------------------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A test CA and a server certificate it signed for HOST only (files: ca.pem, server.pem, server.key)."""
    directory = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Test CA"))
        .issuer_name(_name("Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        x509.CertificateBuilder()
        .subject_name(_name(HOST))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return directory


@pytest.fixture
def tls_site(certificates):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates / "server.pem", certificates / "server.key")
    names: list[str | None] = []
    context.sni_callback = lambda sslobj, name, ctx: names.append(name)
    server = Site(tls=context)
    server.sni = names
    yield server
    server.stop()


def test_https_verifies_the_certificate_for_the_url_host_and_sends_sni(tls_site, certificates, dns_server):
    dns_server.set_record(HOST, "A", ["127.0.0.1"])
    dns_server.set_record("other.polder.example", "A", ["127.0.0.1"])
    trusted = ssl.create_default_context(cafile=str(certificates / "ca.pem"))

    response = get(f"https://{HOST}:{tls_site.port}/in", tls=trusted)

    assert (response.status, response.body) == (200, b"GET /in ")
    assert tls_site.sni == [HOST]
    assert tls_site.requests == [("GET", "/in", f"{HOST}:{tls_site.port}")]
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        get(f"https://other.polder.example:{tls_site.port}/in", tls=trusted)  # same address, wrong name
    with pytest.raises(ssl.SSLCertVerificationError):
        get(f"https://{HOST}:{tls_site.port}/in")  # the system's trust store does not know the test CA
    assert len(tls_site.requests) == 1


# --- Redirects --------------------------------------------------------------------------------------------


def test_redirects_are_not_followed_unless_asked(site):
    site.routes["/old"] = redirect("/new")

    response = get(f"http://127.0.0.1:{site.port}/old")

    assert (response.status, response.headers["Location"]) == (302, "/new")
    assert [path for _, path, _ in site.requests] == ["/old"]


def test_followed_redirects_are_guarded_again_at_every_hop(site):
    guard = Guard.from_spec(f"198.51.100.0/24=127.0.0.1:{site.port}")
    site.routes["/old"] = redirect("/new")
    site.routes["/inside"] = redirect(f"http://127.0.0.1:{site.port}/new")

    followed = get("http://198.51.100.7/old", guard, max_redirects=2)
    with pytest.raises(BlockedTarget, match=r"127\.0\.0\.1"):
        get("http://198.51.100.7/inside", guard, max_redirects=2)

    assert (followed.status, followed.url, followed.body) == (200, "http://198.51.100.7/new", b"GET /new ")
    assert [path for _, path, _ in site.requests] == ["/old", "/new", "/inside"]


def test_redirect_refused_by_may_follow_and_too_many(site):
    site.routes["/away"] = redirect("http://elsewhere.polder.example/")
    site.routes["/loop"] = redirect("/loop", status=307)
    base = f"http://127.0.0.1:{site.port}"

    with pytest.raises(http.RedirectRefused) as refused:
        get(f"{base}/away", max_redirects=3, may_follow=lambda url: url.startswith(base))
    with pytest.raises(http.TooManyRedirects):
        get(f"{base}/loop", max_redirects=3)

    assert refused.value.url == "http://elsewhere.polder.example/"
    assert [path for _, path, _ in site.requests].count("/loop") == 4


def test_see_other_after_post_becomes_a_get_and_307_repeats_the_post(site):
    site.routes["/form"] = redirect("/done", status=303)
    site.routes["/moved"] = redirect("/done", status=307)
    base = f"http://127.0.0.1:{site.port}"

    seen = http.request("POST", f"{base}/form", guard=ALLOW, timeout=5, body=b"a=1", max_redirects=1)
    repeated = http.request("POST", f"{base}/moved", guard=ALLOW, timeout=5, body=b"a=1", max_redirects=1)

    assert (seen.body, repeated.body) == (b"GET /done ", b"POST /done a=1")


def test_urls_we_never_request(site):
    for url in ("ftp://hooks.polder.example/", "http:///path", f"http://user:pw@127.0.0.1:{site.port}/"):
        with pytest.raises(ValueError):
            get(url)
    assert site.requests == []
