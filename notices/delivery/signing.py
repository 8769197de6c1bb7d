"""Signing notice mail at send time: S/MIME (detached, SHA-256) with the hotline's certificate, then DKIM.

The outbox stores the unsigned MIME; `sign_for_sending` runs on every attempt, so a re-send carries the same
Message-ID and a fresh signature. With no signing configured it returns the bytes untouched. Keys and
certificates are read once per process and cached (keyed by their file names, so changed settings take
effect). A misconfiguration stops `manage.py migrate`/`check` through the system check in
`notices/system_checks.py`; should a file vanish later, `SigningError` (an `OSError`) makes the outbox retry,
never send unsigned.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
from dataclasses import dataclass
from email import encoders
from email.generator import BytesGenerator
from functools import cache
from io import BytesIO
from pathlib import Path

import dkim
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from django.conf import settings

# Headers DKIM signs: the ones a reader trusts, and the content headers that say how to read the body.
DKIM_HEADERS = [
    b"From",
    b"To",
    b"Cc",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"Reply-To",
    b"X-Notice-Reference",
    b"MIME-Version",
    b"Content-Type",
    b"Content-Transfer-Encoding",
]
SMIME_BOUNDARY_PREFIX = "smime-"
_CRLF = b"\r\n"


class SigningError(OSError):
    """Signing is configured but cannot be done (file missing or unreadable, key and certificate apart).

    An `OSError`, so the outbox treats it like a connection failure: the message is retried with backoff and,
    when attempts run out, fails (and analysts are alerted) — it is never sent unsigned."""


@dataclass(frozen=True)
class SmimeSigner:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    chain: tuple[x509.Certificate, ...]


@dataclass(frozen=True)
class DkimSigner:
    selector: bytes
    domain: bytes
    key_pem: bytes  # PKCS#1 PEM, as dkimpy reads it


def sign_for_sending(mime: bytes) -> bytes:
    """The message as it goes over SMTP: S/MIME-signed when a certificate is configured, then DKIM-signed when
    a DKIM key is configured; unchanged when neither is. `mime` has CRLF line ends (as the outbox stores
    it)."""
    if settings.NOTICE_SMIME_CERT:
        mime = smime_sign(mime, smime_signer())
    if settings.DKIM_PRIVATE_KEY:
        mime = dkim_sign(mime, dkim_signer())
    return mime


def configuration_errors() -> list[str]:
    """What is wrong with the signing settings (empty: nothing, or signing off). Loads and caches the keys."""
    errors = []
    smime = [settings.NOTICE_SMIME_CERT, settings.NOTICE_SMIME_KEY]
    if any(smime) and not all(smime):
        errors.append("NOTICE_SMIME_CERT and NOTICE_SMIME_KEY must be set together.")
    elif settings.NOTICE_SMIME_CHAIN and not any(smime):
        errors.append("NOTICE_SMIME_CHAIN is set but NOTICE_SMIME_CERT and NOTICE_SMIME_KEY are not.")
    elif all(smime):
        errors += _try(smime_signer)
    dkim_settings = [settings.DKIM_PRIVATE_KEY, settings.DKIM_SELECTOR, settings.DKIM_DOMAIN]
    if any(dkim_settings) and not all(dkim_settings):
        errors.append("DKIM_PRIVATE_KEY, DKIM_SELECTOR and DKIM_DOMAIN must be set together.")
    elif all(dkim_settings):
        errors += _try(dkim_signer)
    return errors


def _try(load) -> list[str]:
    try:
        load()
    except SigningError as exc:
        return [str(exc)]
    return []


# --- Loading (cached per process) -------------------------------------------------------------------------


def smime_signer() -> SmimeSigner:
    return _smime_signer(settings.NOTICE_SMIME_CERT, settings.NOTICE_SMIME_KEY, settings.NOTICE_SMIME_CHAIN)


def dkim_signer() -> DkimSigner:
    return _dkim_signer(settings.DKIM_PRIVATE_KEY, settings.DKIM_SELECTOR, settings.DKIM_DOMAIN)


@cache
def _smime_signer(cert_path: str, key_path: str, chain_path: str) -> SmimeSigner:
    """1. read the certificate, 2. the key (PEM or DER, unencrypted), 3. the chain; 4. the key must be the
    certificate's; 5. the certificate must be usable for signing now (dates)."""
    certificates = _certificates(cert_path, "NOTICE_SMIME_CERT")
    key = _private_key(key_path, "NOTICE_SMIME_KEY")
    chain = tuple(_certificates(chain_path, "NOTICE_SMIME_CHAIN")) if chain_path else ()
    certificate = certificates[0]
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise SigningError(f"NOTICE_SMIME_KEY {key_path}: S/MIME signing needs an RSA or EC key.")
    if key.public_key().public_numbers() != certificate.public_key().public_numbers():
        raise SigningError(f"NOTICE_SMIME_KEY {key_path} is not the key of the certificate in {cert_path}.")
    return SmimeSigner(certificate=certificate, key=key, chain=chain)


@cache
def _dkim_signer(key_path: str, selector: str, domain: str) -> DkimSigner:
    key = _private_key(key_path, "DKIM_PRIVATE_KEY")
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 1024:
        raise SigningError(
            f"DKIM_PRIVATE_KEY {key_path}: DKIM signing needs an RSA key of 1024 bits or more."
        )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return DkimSigner(selector=selector.encode("ascii"), domain=domain.encode("idna"), key_pem=pem)


def _read(path: str, setting: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SigningError(f"{setting} {path}: cannot read ({exc.strerror or exc}).") from None


def _certificates(path: str, setting: str) -> list[x509.Certificate]:
    data = _read(path, setting)
    try:
        found = (
            x509.load_pem_x509_certificates(data)
            if b"-----BEGIN" in data
            else [x509.load_der_x509_certificate(data)]
        )
    except ValueError as exc:
        raise SigningError(f"{setting} {path}: not a PEM or DER certificate ({exc}).") from None
    return found


def _private_key(path: str, setting: str):
    data = _read(path, setting)
    load = serialization.load_pem_private_key if b"-----BEGIN" in data else serialization.load_der_private_key
    try:
        return load(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningError(f"{setting} {path}: not an unencrypted private key ({exc}).") from None


# --- S/MIME (RFC 8551 multipart/signed, RFC 1847) ---------------------------------------------------------


def smime_sign(mime: bytes, signer: SmimeSigner) -> bytes:
    """Wrap the message body in multipart/signed with a detached CMS signature.

    1. Split off the header block; the content headers (Content-*, MIME-Version) go inside, every other header
       (From, To, Subject, Date, Message-ID, …) stays outside byte for byte.
    2. Re-encode 8-bit parts as quoted-printable (base64 for non-text): signed content must survive relays
       that downgrade 8BITMIME.
    3. Sign exactly those inner bytes (binary: they already are canonical CRLF MIME) and assemble.
    """
    head, _, _ = mime.partition(_CRLF + _CRLF)
    outer = [line for line in _header_fields(head) if not _is_content_header(line)]
    inner = _seven_bit_entity(mime)
    builder = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(inner)
        .add_signer(signer.certificate, signer.key, hashes.SHA256())
    )
    for certificate in signer.chain:
        builder = builder.add_certificate(certificate)
    signature = builder.sign(
        serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]
    )
    boundary = f"{SMIME_BOUNDARY_PREFIX}{_boundary_token(inner)}"
    signature_b64 = base64.encodebytes(signature).replace(b"\n", _CRLF)
    return _CRLF.join(
        [
            *outer,
            b"MIME-Version: 1.0",
            f'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; '
            f'boundary="{boundary}"'.encode(),
            b"",
            b"This is a cryptographically signed message in MIME format.",
            b"",
            f"--{boundary}".encode(),
            inner + f"{_CRLF.decode()}--{boundary}".encode(),
            b'Content-Type: application/pkcs7-signature; name="smime.p7s"',
            b"Content-Transfer-Encoding: base64",
            b'Content-Disposition: attachment; filename="smime.p7s"',
            b"Content-Description: S/MIME Cryptographic Signature",
            b"",
            signature_b64 + f"--{boundary}--".encode(),
            b"",
        ]
    )


def _header_fields(head: bytes) -> list[bytes]:
    """Header fields with their folded continuation lines, byte for byte."""
    fields: list[bytes] = []
    for line in head.split(_CRLF):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += _CRLF + line
        elif line:
            fields.append(line)
    return fields


def _is_content_header(field: bytes) -> bool:
    name = field.split(b":", 1)[0].strip().lower()
    return name.startswith(b"content-") or name == b"mime-version"


def _seven_bit_entity(mime: bytes) -> bytes:
    """The message's MIME entity (content headers and body) with every 8-bit leaf re-encoded, as CRLF
    bytes."""
    message = email.message_from_bytes(mime)  # compat32: headers are kept as they came
    for name in {k for k in message if not _is_content_header(k.encode())}:
        del message[name]
    del message["MIME-Version"]
    for part in message.walk():
        if part.is_multipart():
            continue
        if (part.get("Content-Transfer-Encoding") or "7bit").lower() in ("8bit", "binary"):
            text = part.get_content_maintype() == "text"
            payload = part.get_payload(decode=True)
            del part["Content-Transfer-Encoding"]
            part.set_payload(payload.replace(b"\r\n", b"\n") if text else payload)  # QP keeps a CR as =0D
            (encoders.encode_quopri if text else encoders.encode_base64)(part)
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=email.policy.compat32.clone(linesep="\r\n")).flatten(
        message
    )
    return out.getvalue()


def _boundary_token(inner: bytes) -> str:
    """A boundary that will not occur in the content: a digest of it (so signing the same bytes twice gives
    the same boundary)."""
    return hashlib.sha256(inner).hexdigest()[:32]


# --- DKIM (RFC 6376) --------------------------------------------------------------------------------------


def dkim_sign(mime: bytes, signer: DkimSigner) -> bytes:
    """Prepend a DKIM-Signature (rsa-sha256, relaxed/relaxed) over the headers in DKIM_HEADERS and the
    body."""
    present = {
        field.split(b":", 1)[0].strip().lower() for field in _header_fields(mime.partition(_CRLF * 2)[0])
    }
    include = [name for name in DKIM_HEADERS if name.lower() in present]
    header = dkim.sign(
        mime,
        signer.selector,
        signer.domain,
        signer.key_pem,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=include,
        linesep=_CRLF,
    )
    return header + mime
