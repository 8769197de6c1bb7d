"""A local SMTP sink: every accepted mail becomes an `.eml` file, and tests can make it refuse or hang.

`make run` starts it so notices really travel over SMTP without leaving the machine; the test-suite starts one
per test to check delivery, retries and bounce handling against a real server instead of a mocked backend.
Built on aiosmtpd's threaded `Controller`; the sink object itself is the aiosmtpd handler.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tracker.embedded.signals import StopSignals

MODES = ("accept", "tempfail", "permfail", "hang")
STAGES = ("rcpt", "data")
REFUSALS = {"tempfail": "451 4.3.0 Try again later", "permfail": "550 5.1.1 User unknown"}


class _Controller(Controller):
    """aiosmtpd's Controller serving a socket bound beforehand by the caller.

    The Controller would bind inside its thread and then connect to `port`: with port 0 that connect fails,
    and a bind error only surfaces after its ready timeout. Binding first makes both immediate.
    """

    def __init__(self, handler: object, sock: socket.socket, **kwargs: object) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._sock = sock

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self._sock)


class SmtpSink:
    """An SMTP server that stores mail as files and answers as the test tells it to.

    `mode` ("accept", "tempfail", "permfail", "hang") applies to every recipient at `fail_stage` ("rcpt" or
    "data"); `rules` maps a recipient address to a mode and always acts at RCPT, winning over `mode`.
    Both can be changed while the server runs. "hang" keeps the client waiting `hang_seconds` (then answers
    451); stop() cancels the wait. `on_stored(path)`, when set, is called (in the server's thread) after a
    mail is stored and before it is answered: a test kills the sending worker there, so the server holds the
    mail while the worker never learns it was accepted.
    """

    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.directory = Path(directory)
        self.host = host
        self.port = port
        self.mode = "accept"
        self.fail_stage = "rcpt"
        self.rules: dict[str, str] = {}
        self.hang_seconds = 3600.0
        self.on_stored: Callable[[Path], None] | None = None
        self._controller: _Controller | None = None

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        self._mode = _checked_mode(value)

    @property
    def fail_stage(self) -> str:
        return self._fail_stage

    @fail_stage.setter
    def fail_stage(self, value: str) -> None:
        if value not in STAGES:
            raise ValueError(f"unknown SMTP sink stage {value!r}; use one of {', '.join(STAGES)}")
        self._fail_stage = value

    def start(self) -> int:
        """Bind and serve in a background thread; return the bound port."""
        if self._controller is not None:
            raise RuntimeError("SMTP sink already running")
        self.directory.mkdir(parents=True, exist_ok=True)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.create_server((self.host, self.port), family=family)
        # asyncio turns Nagle off only for sockets whose proto is IPPROTO_TCP, and create_server's are proto
        # 0: set it here (accepted sockets inherit it), or each multi-line reply (EHLO) stalls ~40 ms on the
        # client's delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        controller = _Controller(self, sock, server_hostname="sink.test")
        try:
            controller.start()
        except BaseException:
            sock.close()
            controller.loop.close()
            raise
        self._controller = controller
        self.port = controller.port
        return self.port

    def stop(self) -> None:
        """Drop open connections (ending any "hang"), close the listener and join the server thread."""
        controller = self._controller
        if controller is None:
            return
        asyncio.run_coroutine_threadsafe(_cancel_other_tasks(), controller.loop).result(timeout=5)
        controller.stop()
        self._controller = None

    def messages(self) -> list[EmailMessage]:
        """Every stored mail, oldest first (file names start with the UTC time they were received)."""
        paths = sorted(self.directory.glob("*.eml"))
        return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in paths]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        """Wait until at least `count` mails are stored and return them all; TimeoutError if they don't."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages()
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"expected {count} mail(s) in {self.directory} within {timeout} s, got {len(found)}"
                )
            time.sleep(0.02)

    def clear(self) -> None:
        """Delete the stored mails, so a test can count only what it sends itself."""
        for path in self.directory.glob("*.eml"):
            path.unlink(missing_ok=True)

    def mode_for(self, address: str) -> str:
        """How to answer RCPT TO `address`: its rule (addresses compare case-insensitively), else the mode."""
        rules = {key.lower(): value for key, value in self.rules.items()}
        if address.lower() in rules:
            return _checked_mode(rules[address.lower()])
        return self.mode if self.fail_stage == "rcpt" else "accept"

    # --- aiosmtpd handler hooks ---------------------------------------------------------------------------

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        mode = self.mode_for(address)
        if mode != "accept":
            return await self._refuse(mode)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        mode = self.mode if self.fail_stage == "data" else "accept"
        if mode != "accept":
            return await self._refuse(mode)
        path = self._store(envelope)
        if self.on_stored is not None:
            self.on_stored(path)
        return "250 Message accepted for delivery"

    async def _refuse(self, mode: str) -> str:
        if mode == "hang":
            await asyncio.sleep(self.hang_seconds)
            return REFUSALS["tempfail"]
        return REFUSALS[mode]

    def _store(self, envelope: Envelope) -> Path:
        """Write the mail with its envelope on top; tmp file then rename, so readers never see half a mail.

        SMTP's CRLF line ends become LF (lossless: SMTP data is always lines), as Unix mail files have them.
        """
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        path = self.directory / f"{stamp}-{uuid.uuid4()}.eml"
        envelope_headers = (
            f"X-Sink-Mail-From: {envelope.mail_from}\nX-Sink-Rcpt-To: {', '.join(envelope.rcpt_tos)}\n"
        )
        content = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(envelope_headers.encode() + content.replace(b"\r\n", b"\n"))
        os.replace(tmp, path)
        return path


def _checked_mode(value: str) -> str:
    if value not in MODES:
        raise ValueError(f"unknown SMTP sink mode {value!r}; use one of {', '.join(MODES)}")
    return value


async def _cancel_other_tasks() -> None:
    """Cancel every client task on the server loop (a "hang" may be sleeping) and let each one finish."""
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m tracker.embedded.smtp --dir var/mail --port 8025`: serve until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description="Local SMTP sink writing each mail as an .eml file.")
    parser.add_argument("--dir", type=Path, default=Path("var/mail"), help="where .eml files go")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025, help="0 picks a free port")
    parser.add_argument("--mode", choices=MODES, default="accept")
    args = parser.parse_args(argv)
    stop = StopSignals()  # before binding and announcing: a signal right after "listening" stops cleanly
    sink = SmtpSink(args.dir, host=args.host, port=args.port)
    sink.mode = args.mode
    port = sink.start()
    try:
        print(f"smtp sink listening on {args.host}:{port}, writing to {args.dir}", flush=True)
        stop.wait()
    finally:
        sink.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
