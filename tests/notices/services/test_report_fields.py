"""The fast path of report validation (`plain_report`) agrees with the definition (`ReportCreateSerializer`):
whatever it accepts, the serializer accepts with the same values; what it declines, the serializer judges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from notices.services.report_fields import ReportCreateSerializer, plain_report, report_input

CASES = [
    {"url": "http://a.example/x"},
    {"url": "http://a.example/x", "external_ref": "r", "notes": "n\nm"},
    {"url": "http://a.example/x", "reported_at": "2026-01-02T03:04:05Z"},
    {"url": "http://a.example/x", "reported_at": "2026-01-02T03:04:05+02:00", "hashes": []},
    {"url": "http://a.example/x", "reported_at": "2026-01-02T03:04:05"},  # naive: the serializer decides
    {"url": "http://a.example/x", "reported_at": "1980-01-01T00:00:00Z"},
    {"url": "http://a.example/x", "reported_at": ""},
    {"url": "http://a.example/x", "reported_at": 5},
    {"url": "http://a.example/x", "external_ref": "x" * 201},
    {"url": "http://a.example/x", "notes": "a\x00b"},
    {"url": "http://a.example/\ud800"},
    {"url": "http://a.example/" + "x" * 4100},
    {"url": "not a url"},
    {"url": ""},
    {"url": 123},
    {"url": None},
    {},
    {"url": "http://a.example/x", "unknown": "field"},
    {"url": "http://a.example/x", "hashes": [{"algorithm": "md5", "value": "0" * 32}]},
    ["http://a.example/x"],
]


def _agree(data) -> bool:
    fast = plain_report(data, now=timezone.now())
    serializer = ReportCreateSerializer(data=data)
    valid = serializer.is_valid()
    if fast is None:
        return True  # the serializer judges it, with its messages
    assert valid, (data, serializer.errors)
    assert fast == report_input(serializer.validated_data)
    return True


def test_plain_report_agrees_with_the_serializer_on_every_kind_of_row():
    assert all(_agree(data) for data in CASES)
    accepted = [data for data in CASES if plain_report(data, now=timezone.now()) is not None]
    assert len(accepted) == 4  # the fast path does take the plain rows


text = st.text(max_size=30) | st.sampled_from(["http://a.example/", "https://b.example/p?q=1", "x" * 201])
times = st.datetimes(timezones=st.just(UTC)).map(lambda t: t.isoformat()) | st.just(
    (datetime.now(UTC) + timedelta(hours=1)).isoformat()
)
rows = st.fixed_dictionaries(
    {"url": text},
    optional={"external_ref": text, "notes": text, "reported_at": times | text | st.integers()},
)


@settings(max_examples=200, deadline=None)
@given(rows)
def test_plain_report_never_accepts_what_the_serializer_refuses(data):
    assert _agree(data)
