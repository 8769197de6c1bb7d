"""AWS Signature Version 4: the tracker's signer reproduces AWS's published vectors exactly."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from notices.delivery.channels import sigv4

VECTORS = json.loads((Path(__file__).parent / "sigv4_vectors.json").read_text())["vectors"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_sigv4_signs_published_vector_exactly(vector):
    headers = sigv4.sign(
        vector["method"],
        vector["url"],
        headers=vector["headers"],
        body=vector["body"].encode(),
        access_key_id=vector["access_key_id"],
        secret_access_key=vector["secret_access_key"],
        region=vector["region"],
        service=vector["service"],
        now=datetime.fromisoformat(vector["time"]),
    )
    assert headers["Authorization"] == vector["authorization"]
    assert headers["X-Amz-Date"] == vector["time"].replace("-", "").replace(":", "")


def test_sigv4_session_token_is_signed():
    vector = VECTORS[0]
    plain = sigv4.sign(
        "GET",
        vector["url"],
        headers={},
        body=b"",
        access_key_id="AKIDEXAMPLE",
        secret_access_key=vector["secret_access_key"],
        region="us-east-1",
        service="service",
        now=datetime.fromisoformat(vector["time"]),
    )
    temporary = sigv4.sign(
        "GET",
        vector["url"],
        headers={},
        body=b"",
        access_key_id="AKIDEXAMPLE",
        secret_access_key=vector["secret_access_key"],
        region="us-east-1",
        service="service",
        now=datetime.fromisoformat(vector["time"]),
        session_token="session-token-example",
    )
    assert plain["Authorization"] == vector["authorization"]  # Host is added when the caller gives none
    assert temporary["X-Amz-Security-Token"] == "session-token-example"
    assert "SignedHeaders=host;x-amz-date;x-amz-security-token," in temporary["Authorization"]
