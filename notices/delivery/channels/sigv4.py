"""AWS Signature Version 4 for one HTTP request (the header form), as AWS documents it:

1. canonical request = method, URI path (each segment URI-encoded; empty → `/`), canonical query (keys and
   values encoded, sorted), the signed headers as `name:value` lines (lower-case names, values trimmed and
   inner spaces collapsed, sorted), the list of signed header names, and the hex SHA-256 of the body;
2. string to sign = `AWS4-HMAC-SHA256`, the request time (`YYYYMMDDTHHMMSSZ`), the scope
   (`date/region/service/aws4_request`) and the hex SHA-256 of the canonical request;
3. signing key = HMAC chain of `AWS4` + secret over date, region, service, `aws4_request`;
4. `Authorization: AWS4-HMAC-SHA256 Credential=KEYID/scope, SignedHeaders=…, Signature=hex HMAC`.

Tested against AWS's published test-suite vectors (tests/notices/delivery/channels/sigv4_vectors.json).
Temporary credentials add `X-Amz-Security-Token` under the signature.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def canonical_request(method: str, url: str, headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
    """(the canonical request, the signed header names joined by `;`) of a request whose `headers` include
    every header to sign (Host among them)."""
    parts = urlsplit(url)
    path = "/".join(_encode(segment) for segment in (parts.path or "/").split("/")) or "/"
    query = "&".join(
        f"{_encode(key)}={_encode(value)}"
        for key, value in sorted(parse_qsl(parts.query, keep_blank_values=True))
    )
    lines = sorted((name.lower(), " ".join(str(value).split())) for name, value in headers.items())
    signed = ";".join(name for name, _ in lines)
    canonical = "\n".join(
        [
            method.upper(),
            path,
            query,
            "".join(f"{name}:{value}\n" for name, value in lines),
            signed,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    return canonical, signed


def sign(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    body: bytes,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str,
    now: datetime,
    session_token: str = "",
) -> dict[str, str]:
    """`headers` plus Host, X-Amz-Date, X-Amz-Security-Token (temporary credentials) and Authorization."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    signed_headers = {**headers, "X-Amz-Date": stamp}
    if not any(name.lower() == "host" for name in signed_headers):
        signed_headers["Host"] = urlsplit(url).netloc
    if session_token:
        signed_headers["X-Amz-Security-Token"] = session_token
    canonical, signed = canonical_request(method, url, signed_headers, body)
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(f"AWS4{secret_access_key}".encode(), stamp[:8])
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        **signed_headers,
        "Authorization": f"{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={signed}, "
        f"Signature={signature}",
    }
