"""Provider API credentials at rest: encrypted with the environment's key, rotatable, never in a log line."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet

from notices.infra.credentials import CredentialsError, decrypt_credentials, encrypt_credentials
from tracker.redaction import RedactingFilter, redact


def test_credentials_round_trip_and_are_not_plain_text(settings):
    token = encrypt_credentials({"api_token": "cf-secret-value-123"})
    assert "cf-secret-value-123" not in token
    assert decrypt_credentials(token) == {"api_token": "cf-secret-value-123"}
    assert decrypt_credentials("") == {}


def test_rotated_key_still_reads_what_the_old_key_wrote(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CHANNEL_CREDENTIALS_KEY = old
    token = encrypt_credentials({"secret_access_key": "s3cr3t"})
    settings.CHANNEL_CREDENTIALS_KEY = f"{new},{old}"
    assert decrypt_credentials(token) == {"secret_access_key": "s3cr3t"}
    settings.CHANNEL_CREDENTIALS_KEY = new
    with pytest.raises(CredentialsError, match="cannot be read"):
        decrypt_credentials(token)


def test_missing_or_malformed_key_is_an_error(settings):
    settings.CHANNEL_CREDENTIALS_KEY = ""
    with pytest.raises(CredentialsError, match="is not set"):
        encrypt_credentials({"api_token": "x"})
    settings.CHANNEL_CREDENTIALS_KEY = "not-a-key"
    with pytest.raises(CredentialsError, match="not a valid Fernet key"):
        encrypt_credentials({"api_token": "x"})


def test_channel_secrets_are_redacted_from_log_lines(settings):
    token = encrypt_credentials({"api_token": "x"})
    line = (
        "Authorization: AWS4-HMAC-SHA256 "
        "Credential=AKIAIOSFODNN7EXAMPLE/20260101/eu-west-2/abuse/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31 "
        "X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLE "
        f"stored={token} Authorization: Bearer cf-token-Sn3lZJTBX6kkg7Og"
    )
    cleaned = redact(line)
    for secret in ("IOSFODNN7EXAMPLE", "5fa00fa3", "FQoGZXIvYXdzEXAMPLE", token, "cf-token-Sn3lZJTBX6kkg7Og"):
        assert secret not in cleaned
    assert "Credential=AKIAIOSF[redacted]/20260101" in cleaned
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "filed with %s", (line,), None)
    RedactingFilter().filter(record)
    assert "IOSFODNN7EXAMPLE" not in record.getMessage()
