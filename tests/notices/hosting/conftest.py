"""Fixtures for the tracer tests: URL cases by host, and providers with prefixes in 203.0.113.0/24."""

from __future__ import annotations

import pytest


@pytest.fixture
def make_url(db, now):
    """Factory: a reported URL case on `host` (no assessment, no trace)."""
    from notices.models import Url
    from notices.services.intake import ReportInput, submit_report

    def _make(host: str, path: str = "/a.html"):
        result = submit_report(item=ReportInput(url=f"http://{host}{path}"), now=now)
        return Url.objects.get(pk=result.url_id)

    return _make


@pytest.fixture
def make_prefix(db):
    """Factory: a RoutingPrefix row (registry data by default)."""
    from notices.models import RoutingPrefix

    def _make(prefix: str, *, source="registry", asn=None, country="", provider=None, org_name="", **extra):
        return RoutingPrefix.objects.create(
            prefix=prefix,
            source=source,
            asn=asn,
            country=country,
            provider=provider,
            org_name=org_name,
            **extra,
        )

    return _make


# --- Registry data ------------------------------------------------------------------------------------------

DUMMY_TRAILER = """remarks:        ****************************
remarks:        * THIS OBJECT IS MODIFIED
remarks:        * Please note that all data that is generally regarded as personal
remarks:        * data has been removed from this object.
remarks:        * To view the original object, please query the RIPE Database at:
remarks:        * http://www.ripe.net/whois
remarks:        ****************************
"""


def rpsl(cls: str, key: str, *lines: str, source: bool = True, trailer: bool = False) -> str:
    """One RPSL object as RIPE's split dumps write it (`key:` padded to column 17)."""
    body = [f"{cls + ':':<16}{key}", *lines]
    if source:
        body.append(f"{'source:':<16}RIPE")
    text = "\n".join(body) + "\n"
    return text + (DUMMY_TRAILER if trailer else "")


def inetnum(
    range_text: str,
    *,
    netname="NET",
    country="NL",
    org="",
    abuse_c="",
    status="ASSIGNED PA",
    mnt_by=("EXAMPLE-MNT",),
    cls="inetnum",
) -> str:
    lines = [f"netname:        {netname}", f"country:        {country}"]
    lines += [f"org:            {org}"] if org else []
    lines += ["admin-c:        DUMY-RIPE", "tech-c:         DUMY-RIPE"]
    lines += [f"abuse-c:        {abuse_c}"] if abuse_c else []
    lines += [f"status:         {status}"] + [f"mnt-by:         {m}" for m in mnt_by]
    return rpsl(cls, range_text, *lines, trailer=True)


def organisation(handle: str, name: str, *, abuse_c="", country="NL", org_type="LIR") -> str:
    lines = [f"org-name:       {name}", f"org-type:       {org_type}", f"country:        {country}"]
    lines += [f"abuse-c:        {abuse_c}"] if abuse_c else []
    return rpsl("organisation", handle, *lines)


def role(nic_hdl: str, *mailboxes: str, name="Abuse-C Role") -> str:
    lines = [
        "address:        Dummy address for " + nic_hdl,
        "e-mail:         unread@ripe.net",
        f"nic-hdl:        {nic_hdl}",
    ] + [f"abuse-mailbox:  {m}" for m in mailboxes]
    return rpsl("role", name, *lines, trailer=True)


def dump(*objects: str, header: bool = True) -> str:
    """A split dump: RIPE's comment header, then the objects separated by blank lines."""
    head = "#\n# The contents of this file are subject to\n# RIPE Database Terms and Conditions\n#\n\n"
    return (head if header else "") + "\n".join(objects)


@pytest.fixture
def write_file(tmp_path):
    """Factory: write text (latin-1; gzip-compressed if the name ends .gz) or raw bytes to a file in
    tmp_path."""
    import gzip

    def _write(name: str, content: str | bytes, *, mtime: int | None = None) -> str:
        data = content.encode("latin-1") if isinstance(content, str) else content
        path = tmp_path / name
        if name.endswith(".gz") and isinstance(content, str):
            with gzip.GzipFile(path, "wb", mtime=mtime or 0) as handle:
                handle.write(data)
        else:
            path.write_bytes(data)
        return str(path)

    return _write


@pytest.fixture
def import_data(db, now):
    """Factory: run an import like `manage.py import_registry` does (no progress bar)."""
    from notices.hosting.importers import import_files

    def _import(fmt: str, *paths: str, **options):
        options.setdefault("now", now)
        return import_files(fmt, list(paths), show_progress=False, **options)

    return _import


# --- RDAP server --------------------------------------------------------------------------------------------


class RdapServer:
    """A real HTTP server on loopback answering RDAP paths from a dict: path → (status, headers, body)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.routes: dict[str, tuple[int, dict, bytes]] = {}
        self.requests: list[str] = []
        self.delay = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                import time

                server.requests.append(self.path)
                time.sleep(server.delay)
                status, headers, body = server.routes.get(self.path, (404, {}, b'{"errorCode": 404}'))
                self.send_response(status)
                for name, value in {"Content-Type": "application/rdap+json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/"

    def set_json(self, path: str, data: dict, status: int = 200) -> None:
        import json

        self.routes[path] = (status, {}, json.dumps(data).encode())

    def redirect(self, path: str, location: str) -> None:
        self.routes[path] = (301, {"Location": location}, b"")

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def rdap_server(settings):
    """A local RDAP server; RDAP_BASE_URL points at it, with a short timeout."""
    server = RdapServer()
    settings.RDAP_BASE_URL = server.base_url
    settings.RDAP_TIMEOUT = 0.5
    settings.RDAP_ALLOW_PRIVATE_TARGETS = True  # the server is on loopback: tests only
    yield server
    server.stop()
