"""Stop signals for the server processes (`make run`'s supervisor, the SMTP sink, the demo DNS and web hosts).

A server process must own SIGTERM and SIGINT *before* it binds and announces itself: a signal that arrives
right after the "listening" line would otherwise meet the default disposition and kill the process with the
wrong status, and a SIGINT inherited as "ignored" (a background job of a non-interactive shell) would make
Ctrl-C do nothing. Installing a Python handler also means children started later get the default disposition
back (exec resets caught signals), never "ignored".
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """Install handlers for SIGTERM and SIGINT now, whatever the inherited disposition; `wait()` for one
    later.

    A signal that arrives between construction and `wait()` is remembered, so `wait()` then returns at once.
    Must be created in the main thread (Python runs signal handlers there only).
    """

    def __init__(self, on_signal: Callable[[int], None] | None = None) -> None:
        self._received = threading.Event()
        self._on_signal = on_signal
        self.signum: int | None = None
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        first = self.signum is None
        if first:
            self.signum = signum
        self._received.set()
        if first and self._on_signal is not None:
            self._on_signal(signum)

    @property
    def received(self) -> bool:
        return self._received.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a stop signal has arrived (True), or `timeout` seconds have passed (False)."""
        return self._received.wait(timeout)
