"""COPY in text format (`infra.bulk.copy_data`, `copy_rows`): every value survives the round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection

from notices.infra.bulk import copy_data, copy_field, copy_rows

pytestmark = pytest.mark.django_db

AWKWARD = [
    "plain",
    "",
    "tab\there",
    "line\nbreak\r\nand return\r",
    "back\\slash \\N \\t literally",
    "quotes \" and ' and {braces,} NULL",
    "ünïcødé — ✓ 中文",
]


def test_copy_round_trip_of_awkward_values():
    at = datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    rows = [
        (n, text, n % 2 == 0, None if n == 3 else at, {"k": text, "list": [1, None]})
        for n, text in enumerate(AWKWARD)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE copy_probe (n int, t text, b boolean, at timestamptz, j jsonb)"
        )
        copy_rows(cursor.cursor, "copy_probe", ["n", "t", "b", "at", "j"], copy_data(rows))
        cursor.execute("SELECT n, t, b, at, j FROM copy_probe ORDER BY n")
        back = cursor.fetchall()
    # jsonb arrives as text (Django turns the driver's decoding off)
    assert [
        (n, t, b, at_ if at_ is None else at_.astimezone(UTC), json.loads(j)) for n, t, b, at_, j in back
    ] == [(n, t, b, None if a is None else a.astimezone(UTC), j) for n, t, b, a, j in rows]


def test_copy_field_formats():
    assert [copy_field(v) for v in (None, True, False, 7, "a\tb", [1])] == [
        "\\N",
        "t",
        "f",
        "7",
        "a\\tb",
        "[1]",
    ]
