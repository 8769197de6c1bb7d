"""The demo "internet": an authoritative DNS server and a many-hosts web server, both on loopback.

`make run` and the test-suite start them so the tracer, the checker and notices meet real servers that answer
like hosting providers do: pages that are live, then removed; names that move to another address; all with
reserved names and addresses only (`*.example`, 192.0.2.0/24, 2001:db8::/32 ...). Each runs as a library
(start/stop in a background thread) or as a process (`python -m notices.demo.dns`, `... notices.demo.web`).
"""

from __future__ import annotations
