"""The demo DNS server: answers A/AAAA/CNAME from an in-memory zone that can change while it runs.

The tracer and the checker resolve through `DNS_RESOLVER`; pointing that at this server lets the demo and the
tests decide what every `*.example` name resolves to, make a name fail (NXDOMAIN, SERVFAIL) and make a URL
"hop" to another address between two checks. Built on dnslib's `DNSServer` (socketserver threads), serving
UDP and TCP on the same port number.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import json
import logging
import socket
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from dnslib import AAAA, CNAME, QTYPE, RCODE, RR, A, DNSRecord
from dnslib.server import DNSHandler, DNSLogger, DNSServer

from tracker.embedded.signals import StopSignals

log = logging.getLogger(__name__)

RDATA = {"A": A, "AAAA": AAAA, "CNAME": CNAME}
MAX_CNAME_CHAIN = 8
TCP_READ_TIMEOUT = 5.0
BIND_ATTEMPTS = 20

Zone = dict[str, dict[str, list[str]]]


def normalize_name(name: str) -> str:
    """Zone keys are compared lower-case without the trailing dot, as DNS names are."""
    return name.strip().rstrip(".").lower()


class _Handler(DNSHandler):
    """dnslib's handler with a read timeout on TCP, so a silent client can't block the join in stop()."""

    def setup(self) -> None:
        if isinstance(self.request, socket.socket):
            self.request.settimeout(TCP_READ_TIMEOUT)

    def handle(self) -> None:
        try:
            super().handle()
        except OSError as error:  # client went away or stayed silent; nothing to answer
            log.debug(
                "demo dns: dropped %s connection from %s: %s", self.protocol, self.client_address, error
            )


class DemoDnsServer:
    """An authoritative server for a mutable zone {name: {"A": [...], "AAAA": [...], "CNAME": "target"}}.

    Unknown names answer NXDOMAIN, names in `servfail` answer SERVFAIL, CNAMEs inside the zone are followed
    (the CNAME records go in the answer too). The object is also the dnslib resolver.
    """

    def __init__(
        self, zone: dict | None = None, host: str = "127.0.0.1", port: int = 0, *, ttl: int = 1
    ) -> None:
        self.host = host
        self.port = port
        self.ttl = ttl
        self.servfail: set[str] = set()
        self._zone: Zone = {}
        self._lock = threading.Lock()
        self._servers: list[DNSServer] = []
        self._threads: list[threading.Thread] = []
        for name, records in (zone or {}).items():
            for rtype, values in records.items():
                self.set_record(name, rtype, values)

    @property
    def address(self) -> str:
        """Where the server listens, in the format of the `DNS_RESOLVER` setting (`[addr]:port` for IPv6)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def set_record(self, name: str, rtype: str, values: Iterable[str] | str) -> None:
        """Replace the `rtype` records of `name` (an empty list removes them); the next query sees it."""
        checked = _checked_values(rtype, values)
        with self._lock:
            records = self._zone.setdefault(normalize_name(name), {})
            if checked:
                records[rtype] = checked
            else:
                records.pop(rtype, None)

    def start(self) -> int:
        """Bind UDP and TCP on one port number, serve both in background threads; return the port."""
        if self._servers:
            raise RuntimeError("demo DNS server already running")
        self._servers = self._bind_pair()
        self.port = self._servers[0].server.server_address[1]
        for server in self._servers:
            thread = threading.Thread(
                target=server.server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"demo-dns-{self.port}",
            )
            thread.start()
            self._threads.append(thread)
        return self.port

    def stop(self) -> None:
        """Stop serving, close both sockets and join every thread (request threads included)."""
        for server in self._servers:
            server.server.shutdown()
            server.server.server_close()
        for thread in self._threads:
            thread.join()
        self._servers, self._threads = [], []

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        """dnslib's resolver hook: build the reply for one question."""
        reply = request.reply()
        qtype = QTYPE.get(request.q.qtype)
        with self._lock:
            reply.header.rcode = self._answer(reply, normalize_name(str(request.q.qname)), qtype)
        return reply

    def _answer(self, reply: DNSRecord, name: str, qtype: str) -> int:
        """Add the answer records for (name, qtype) to `reply`; return the response code."""
        servfail = {normalize_name(entry) for entry in self.servfail}
        for _ in range(MAX_CNAME_CHAIN):
            if name in servfail:
                return RCODE.SERVFAIL
            records = self._zone.get(name)
            if records is None:
                return RCODE.NXDOMAIN
            if "CNAME" not in records or qtype == "CNAME":
                for value in records.get(qtype, []):
                    reply.add_answer(RR(name, getattr(QTYPE, qtype), rdata=RDATA[qtype](value), ttl=self.ttl))
                return RCODE.NOERROR
            target = records["CNAME"][0]
            reply.add_answer(RR(name, QTYPE.CNAME, rdata=CNAME(target), ttl=self.ttl))
            name = normalize_name(target)
        return RCODE.SERVFAIL  # a CNAME loop, as a real server would give up on it

    def _bind_pair(self) -> list[DNSServer]:
        """UDP on the requested port (or a free one), then TCP on the same number; retry if TCP's is taken."""
        logger = DNSLogger(log="request,reply,truncated,error", prefix=False, logf=log.debug)
        attempts = BIND_ATTEMPTS if self.port == 0 else 1
        for attempt in range(attempts):
            udp = DNSServer(self, address=self.host, port=self.port, logger=logger, handler=_Handler)
            port = udp.server.server_address[1]
            try:
                tcp = DNSServer(self, address=self.host, port=port, tcp=True, logger=logger, handler=_Handler)
            except OSError as error:
                udp.server.server_close()
                if error.errno != errno.EADDRINUSE or attempt == attempts - 1:
                    raise
                continue
            return [udp, tcp]
        raise AssertionError("unreachable")


def _checked_values(rtype: str, values: Iterable[str] | str) -> list[str]:
    """Records as a list of strings, checked now so a bad zone fails at set-up, not in a query thread."""
    if rtype not in RDATA:
        raise ValueError(f"record type {rtype!r} is not served; use A, AAAA or CNAME")
    items = [values] if isinstance(values, str) else list(values)
    if rtype == "CNAME":
        if len(items) > 1:
            raise ValueError(f"a name has at most one CNAME, got {items!r}")
        return [normalize_name(item) + "." for item in items]
    version = 4 if rtype == "A" else 6
    addresses = [ipaddress.ip_address(item) for item in items]
    wrong = [str(address) for address in addresses if address.version != version]
    if wrong:
        raise ValueError(f"{rtype} records need IPv{version} addresses, got {wrong!r}")
    return [str(address) for address in addresses]


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m notices.demo.dns --port 8053 --zone-json FILE`: serve until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description="Demo authoritative DNS server (UDP and TCP).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8053, help="0 picks a free port")
    parser.add_argument(
        "--zone-json", type=Path, help='{"name": {"A": [...], "AAAA": [...], "CNAME": "target"}}'
    )
    parser.add_argument(
        "--servfail", action="append", default=[], metavar="NAME", help="answer SERVFAIL for NAME"
    )
    parser.add_argument("--ttl", type=int, default=1)
    args = parser.parse_args(argv)
    stop = StopSignals()  # before binding and announcing: a signal right after "listening" stops cleanly
    zone = json.loads(args.zone_json.read_text()) if args.zone_json else {}
    server = DemoDnsServer(zone, host=args.host, port=args.port, ttl=args.ttl)
    server.servfail.update(args.servfail)
    server.start()
    try:
        print(f"demo dns listening on {server.address} (udp+tcp), {len(zone)} names", flush=True)
        stop.wait()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
