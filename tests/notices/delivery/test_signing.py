"""Signing at send time through the real SMTP sink: S/MIME (multipart/signed, detached CMS, SHA-256) verified
by OpenSSL against a throwaway CA, DKIM verified by dkimpy with a local key lookup; the outbox keeps the
unsigned bytes; misconfiguration is a system-check error and never an unsigned mail."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dkim
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from notices.delivery.outbox import claim_due_messages, message_bytes
from notices.delivery.signing import sign_for_sending
from notices.services.delivery import send_claimed
from notices.system_checks import check_mail_signing


def claim_and_send(now) -> list[str]:
    return [send_claimed(message_id) for message_id in claim_due_messages(now=now, limit=10)]


def received_raw(sink) -> bytes:
    """The one received mail as it went over SMTP: the sink's envelope lines dropped, CRLF line ends back."""
    (path,) = sorted(sink.directory.glob("*.eml"))
    stored = path.read_bytes().split(b"\n", 2)[2]  # X-Sink-Mail-From, X-Sink-Rcpt-To
    return stored.replace(b"\n", b"\r\n")


# --- a throwaway PKI --------------------------------------------------------------------------------------


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(obj) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _certificate(subject: str, key, *, issuer=None, issuer_key=None, ca: bool) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        ).add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name("notices@hotline.example")]), critical=False
        )
    return builder.sign(issuer_key or key, hashes.SHA256())


@pytest.fixture
def pki(tmp_path):
    """A CA and the hotline's signing certificate from it, written as PEM files: {name: path}."""
    ca_key, key = _key(), _key()
    ca = _certificate("Test Hotline CA", ca_key, ca=True)
    certificate = _certificate("Test Hotline notices", key, issuer=ca, issuer_key=ca_key, ca=False)
    files = {"ca": _pem(ca), "cert": _pem(certificate), "key": _pem(key), "other_key": _pem(_key())}
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / f"{name}.pem"
        paths[name].write_bytes(data)
    return paths


@pytest.fixture
def smime(settings, pki):
    settings.NOTICE_SMIME_CERT = str(pki["cert"])
    settings.NOTICE_SMIME_KEY = str(pki["key"])
    settings.NOTICE_SMIME_CHAIN = str(pki["ca"])
    return pki


@pytest.fixture
def dkim_key(settings, tmp_path):
    """DKIM for hotline.example, selector `tt1`; returns the DNS TXT record a verifier would look up."""
    key = _key()
    path = tmp_path / "dkim.pem"
    path.write_bytes(_pem(key))
    settings.DKIM_PRIVATE_KEY, settings.DKIM_SELECTOR, settings.DKIM_DOMAIN = (
        str(path),
        "tt1",
        "hotline.example",
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def openssl_verify(raw: bytes, ca: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    openssl = shutil.which("openssl")
    if openssl is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("openssl is needed to verify S/MIME signatures (apt-get install -y openssl)")
        pytest.skip("openssl not installed")
    mail = tmp_path / "received.eml"
    mail.write_bytes(raw)
    return subprocess.run(
        [
            openssl,
            "smime",
            "-verify",
            "-in",
            str(mail),
            "-CAfile",
            str(ca),
            "-out",
            str(tmp_path / "content"),
        ],
        capture_output=True,
        check=False,
    )


def dkim_verify(raw: bytes, txt: bytes) -> tuple[bool, list[bytes]]:
    asked = []

    def dnsfunc(name, timeout=5):
        asked.append(name)
        return txt if name == b"tt1._domainkey.hotline.example." else None

    return dkim.verify(raw, dnsfunc=dnsfunc), asked


# --- S/MIME -------------------------------------------------------------------------------------------------


def test_smime_signed_mail_is_multipart_signed_and_verifies(smtp_sink, smime, queued, now, tmp_path):
    notice, message, _ = queued

    assert claim_and_send(now) == ["sent"]

    raw = received_raw(smtp_sink)
    (mail,) = smtp_sink.messages()
    assert (mail.get_content_type(), mail.get_param("protocol"), mail.get_param("micalg")) == (
        "multipart/signed",
        "application/pkcs7-signature",
        "sha-256",
    )
    assert (mail["Message-ID"].strip(), mail["X-Notice-Reference"]) == (message.message_id, notice.reference)
    signed, signature = mail.get_payload()
    assert signature.get_content_type() == "application/pkcs7-signature"
    result = openssl_verify(raw, smime["ca"], tmp_path)
    assert (result.returncode, result.stderr.strip()) == (0, b"Verification successful")
    # What OpenSSL checked is the inner entity: text + HTML + the X-ARF and CSV attachments.
    assert signed.get_content_type() == "multipart/mixed"
    assert [p.get_content_type() for p in signed.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "application/json",
        "text/csv",
    ]
    assert sorted(p.get_filename() for p in signed.iter_attachments()) == [
        f"urls-{notice.reference}.csv",
        f"xarf-{notice.reference}-1.json",
    ]


def test_smime_tampered_content_fails_verification(smtp_sink, smime, queued, now, tmp_path):
    notice, _, _ = queued
    claim_and_send(now)
    head, _, body = received_raw(smtp_sink).partition(b"\r\n\r\n")
    assert notice.reference.encode() in body
    tampered = head + b"\r\n\r\n" + body.replace(notice.reference.encode(), b"TN-2026-999999", 1)

    result = openssl_verify(tampered, smime["ca"], tmp_path)

    assert result.returncode != 0
    assert b"Verification failure" in result.stderr


def test_smime_outbox_keeps_the_unsigned_message(smtp_sink, smime, queued, now):
    _, message, _ = queued
    assert message.mime is None  # completed and stored by the first delivery attempt

    claim_and_send(now)

    (mail,) = smtp_sink.messages()
    assert mail.get_content_type() == "multipart/signed"
    message.refresh_from_db()
    stored = bytes(message.mime)
    assert message.message_id.encode() in stored
    assert b"multipart/signed" not in stored
    assert b"pkcs7" not in stored
    assert message_bytes(message) == stored


def test_smime_eight_bit_text_is_signed_as_quoted_printable(
    smtp_sink, smime, make_provider, make_case, queue, now, tmp_path
):
    provider = make_provider("umlaut", language="de", prefix=None)
    notice = queue(make_case("http://files.umlaut.example/a.html", provider=provider, when=now), now=now)
    stored = message_bytes(notice.messages.get())
    assert b"Content-Transfer-Encoding: 8bit" in stored  # Django sends non-ASCII text as 8bit

    claim_and_send(now)

    raw = received_raw(smtp_sink)
    assert max(raw) < 0x80  # 7-bit clean: survives any relay
    result = openssl_verify(raw, smime["ca"], tmp_path)
    assert result.returncode == 0, result.stderr
    (mail,) = smtp_sink.messages()
    text = mail.get_payload()[0].get_body(preferencelist=("plain",))
    assert text["Content-Transfer-Encoding"] == "quoted-printable"
    assert "Erklärung des guten Glaubens" in text.get_content()


def test_smime_resend_after_tempfail_keeps_the_message_id(smtp_sink, smime, queued, now, tmp_path):
    _, message, _ = queued
    smtp_sink.mode = "tempfail"
    claim_and_send(now)
    message.refresh_from_db()
    smtp_sink.mode = "accept"

    assert claim_and_send(message.next_attempt_at) == ["sent"]

    (mail,) = smtp_sink.messages()
    assert mail["Message-ID"].strip() == message.message_id
    assert openssl_verify(received_raw(smtp_sink), smime["ca"], tmp_path).returncode == 0


# --- DKIM ---------------------------------------------------------------------------------------------------


def test_dkim_signature_verifies_with_the_published_key(smtp_sink, dkim_key, queued, now):
    claim_and_send(now)
    raw = received_raw(smtp_sink)

    verified, asked = dkim_verify(raw, dkim_key)

    assert (verified, asked) == (True, [b"tt1._domainkey.hotline.example."])
    (mail,) = smtp_sink.messages()
    tags = dict(
        tag.strip().split("=", 1) for tag in "".join(mail["DKIM-Signature"].split()).split(";") if tag.strip()
    )
    assert (tags["d"], tags["s"], tags["a"], tags["c"]) == (
        "hotline.example",
        "tt1",
        "rsa-sha256",
        "relaxed/relaxed",
    )
    assert tags["h"].lower().split(":") == [
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "x-notice-reference",
        "mime-version",
        "content-type",
    ]


def test_dkim_with_another_key_published_does_not_verify(smtp_sink, dkim_key, queued, now):
    claim_and_send(now)
    public = (
        _key()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    verified, _ = dkim_verify(received_raw(smtp_sink), b"v=DKIM1; k=rsa; p=" + base64.b64encode(public))

    assert verified is False


def test_smime_and_dkim_both_verify(smtp_sink, smime, dkim_key, queued, now, tmp_path):
    claim_and_send(now)
    raw = received_raw(smtp_sink)

    assert raw.startswith(b"DKIM-Signature: ")
    assert dkim_verify(raw, dkim_key)[0] is True
    assert openssl_verify(raw, smime["ca"], tmp_path).returncode == 0


# --- off, and misconfigured ---------------------------------------------------------------------------------


def test_signing_off_sends_the_stored_bytes(smtp_sink, queued, now):
    _, message, _ = queued
    stored = message_bytes(message)
    assert sign_for_sending(stored) == stored

    claim_and_send(now)

    assert received_raw(smtp_sink) == stored
    message.refresh_from_db()
    assert bytes(message.mime) == stored
    assert check_mail_signing() == []


def test_signing_check_accepts_a_good_configuration(smime, dkim_key):
    assert check_mail_signing() == []


def test_signing_check_missing_file(settings, smime, tmp_path):
    settings.NOTICE_SMIME_KEY = str(tmp_path / "missing.pem")

    (error,) = check_mail_signing()

    assert (error.id, error.msg) == (
        "notices.E001",
        f"NOTICE_SMIME_KEY {tmp_path / 'missing.pem'}: cannot read (No such file or directory).",
    )


def test_signing_check_key_not_the_certificates(settings, smime):
    settings.NOTICE_SMIME_KEY = str(smime["other_key"])

    (error,) = check_mail_signing()

    assert (
        error.msg
        == f"NOTICE_SMIME_KEY {smime['other_key']} is not the key of the certificate in {smime['cert']}."
    )


def test_signing_check_half_configured(settings, pki):
    settings.NOTICE_SMIME_CERT = str(pki["cert"])
    settings.DKIM_SELECTOR = "tt1"

    assert [e.msg for e in check_mail_signing()] == [
        "NOTICE_SMIME_CERT and NOTICE_SMIME_KEY must be set together.",
        "DKIM_PRIVATE_KEY, DKIM_SELECTOR and DKIM_DOMAIN must be set together.",
    ]


def test_signing_check_not_a_certificate(settings, smime):
    settings.NOTICE_SMIME_CERT = str(smime["key"])

    (error,) = check_mail_signing()

    assert error.msg.startswith(f"NOTICE_SMIME_CERT {smime['key']}: not a PEM or DER certificate")


def test_signing_file_gone_at_send_time_retries_and_sends_nothing(
    smtp_sink, settings, pki, queued, now, tmp_path
):
    _, message, _ = queued
    moved = tmp_path / "moved-key.pem"
    shutil.copy(pki["key"], moved)
    settings.NOTICE_SMIME_CERT, settings.NOTICE_SMIME_KEY = str(pki["cert"]), str(moved)
    moved.unlink()

    assert claim_and_send(now) == ["pending"]

    message.refresh_from_db()
    assert (
        message.last_error
        == f"SigningError: NOTICE_SMIME_KEY {moved}: cannot read (No such file or directory)."
    )
    assert smtp_sink.messages() == []
