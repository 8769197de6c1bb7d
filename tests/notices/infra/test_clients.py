"""Who is asking (notices/infra/clients.py): the client address, behind a trusted proxy too, and the key the
limits count it under."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from notices.infra.clients import client_ip, client_key


@pytest.mark.parametrize(
    ("ip", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:0:7:1:2:3:4", "2001:db8:0:7::"),
        ("2001:DB8:0:7::FFFF", "2001:db8:0:7::"),
        ("::ffff:192.0.2.7", "192.0.2.7"),  # IPv4-mapped: the IPv4 client
        (None, ""),
        ("", ""),
        ("not an address", ""),
    ],
)
def test_client_key(ip, key):
    assert client_key(ip) == key


@pytest.mark.parametrize(
    ("trusted", "forwarded", "expected"),
    [
        (False, "198.51.100.1", "127.0.0.9"),  # a client's own header proves nothing
        (True, "198.51.100.1", "198.51.100.1"),
        (True, "10.0.0.1, 203.0.113.5", "203.0.113.5"),  # what the proxy appended, not what the client sent
        (True, " 2001:db8::5 ", "2001:db8::5"),
        (True, "", "127.0.0.9"),
        (True, "garbage", "127.0.0.9"),
    ],
)
def test_client_ip(settings, trusted, forwarded, expected):
    settings.TRUST_PROXY_HEADERS = trusted
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.9", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
