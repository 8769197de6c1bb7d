"""The SMTP sink, driven by smtplib over a real socket."""

import signal
import smtplib
import socket
import subprocess
import sys
import time
from email.message import EmailMessage

import pytest

from tracker.embedded.smtp import SmtpSink


@pytest.fixture
def sink(tmp_path):
    server = SmtpSink(tmp_path / "mail")
    server.start()
    yield server
    server.stop()


def _mail(to: str = "abuse@provider.example", subject: str = "TN-2026-000001") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "notices@hotline.example"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Please remove hxxp://site[.]example/page.\n")
    return message


def _send(port: int, message: EmailMessage, *, timeout: float = 2.0) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=timeout) as client:
        client.send_message(message)


def test_smtp_sink_accept_writes_eml_with_envelope(sink):
    _send(sink.port, _mail())

    [stored] = sink.wait_for(1, timeout=2)
    assert stored["X-Sink-Mail-From"] == "notices@hotline.example"
    assert stored["X-Sink-Rcpt-To"] == "abuse@provider.example"
    assert stored["Subject"] == "TN-2026-000001"
    assert stored.get_content() == "Please remove hxxp://site[.]example/page.\n"
    names = [path.name for path in sink.directory.iterdir()]
    assert len(names) == 1
    assert names[0].endswith(".eml")


def test_smtp_sink_messages_sorted_oldest_first(sink):
    for number in range(3):
        _send(sink.port, _mail(subject=f"TN-2026-00000{number}"))

    assert [message["Subject"] for message in sink.wait_for(3)] == [
        "TN-2026-000000",
        "TN-2026-000001",
        "TN-2026-000002",
    ]


def test_smtp_sink_tempfail_refuses_recipient_with_451(sink):
    sink.mode = "tempfail"

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        _send(sink.port, _mail())

    assert refused.value.recipients == {"abuse@provider.example": (451, b"4.3.0 Try again later")}
    assert sink.messages() == []


def test_smtp_sink_tempfail_at_data_stage_raises_data_error(sink):
    sink.mode = "tempfail"
    sink.fail_stage = "data"

    with pytest.raises(smtplib.SMTPDataError) as refused:
        _send(sink.port, _mail())

    assert (refused.value.smtp_code, refused.value.smtp_error) == (451, b"4.3.0 Try again later")
    assert sink.messages() == []


def test_smtp_sink_permfail_refuses_with_550(sink):
    sink.mode = "permfail"

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        _send(sink.port, _mail())

    assert refused.value.recipients == {"abuse@provider.example": (550, b"5.1.1 User unknown")}


def test_smtp_sink_hang_makes_client_time_out(sink):
    sink.mode = "hang"
    started = time.monotonic()

    with pytest.raises((TimeoutError, smtplib.SMTPServerDisconnected)):
        _send(sink.port, _mail(), timeout=0.5)

    assert time.monotonic() - started < 1.5
    assert sink.messages() == []


def test_smtp_sink_hang_still_stops_with_client_connected(tmp_path):
    sink = SmtpSink(tmp_path / "mail")
    port = sink.start()
    sink.mode = "hang"
    with socket.create_connection(("127.0.0.1", port), timeout=1) as raw:
        raw.recv(1024)
        raw.sendall(b"HELO client.test\r\nMAIL FROM:<notices@hotline.example>\r\nRCPT TO:<a@b.example>\r\n")
        time.sleep(0.1)
        started = time.monotonic()
        sink.stop()

    assert time.monotonic() - started < 1.0


def test_smtp_sink_rule_refuses_only_that_recipient(sink):
    sink.rules["Gone@Provider.example"] = "permfail"
    message = _mail(to="abuse@provider.example, gone@provider.example")

    with smtplib.SMTP("127.0.0.1", sink.port, timeout=2) as client:
        refused = client.send_message(message)

    assert refused == {"gone@provider.example": (550, b"5.1.1 User unknown")}
    [stored] = sink.wait_for(1)
    assert stored["X-Sink-Rcpt-To"] == "abuse@provider.example"


def test_smtp_sink_mode_rejects_unknown_value(tmp_path):
    sink = SmtpSink(tmp_path)

    with pytest.raises(ValueError, match="unknown SMTP sink mode 'bounce'"):
        sink.mode = "bounce"


def test_smtp_sink_wait_for_times_out_when_nothing_arrives(sink):
    with pytest.raises(TimeoutError):
        sink.wait_for(1, timeout=0.1)


def test_smtp_sink_cli_serves_until_sigterm(tmp_path):
    command = [sys.executable, "-m", "tracker.embedded.smtp", "--dir", str(tmp_path), "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        banner = proc.stdout.readline()
        port = int(banner.split(",")[0].rsplit(":", 1)[1])
        _send(port, _mail())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0

    assert [path.suffix for path in tmp_path.iterdir()] == [".eml"]
