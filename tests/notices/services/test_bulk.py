"""Bulk helpers: array literals survive a round trip through PostgreSQL whatever the text; instances built
without `__init__` behave as saved ones; `load_instances` matches `in_bulk`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection

from notices.infra.bulk import (
    array_literal,
    field_defaults,
    int_array,
    load_instances,
    new_instance,
    text_array,
    timestamp_array,
)
from notices.models import HostingProvider, Notice

pytestmark = pytest.mark.django_db

AWKWARD = [
    "",
    "plain",
    "NULL",
    "null",
    'say "hi"',
    "back\\slash",
    '\\"both\\"',
    "{braces}, commas",
    "  leading and trailing  ",
    "new\nline\r\nand\ttab",
    "it's quoted 'single'",
    "ümlaut — ☃ 🧪",
    "a" * 5000,
    None,
]


def round_trip(literal: str, cast: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT x FROM unnest(%s::{cast}[]) WITH ORDINALITY AS v(x, n) ORDER BY n", [literal])
        return [value for (value,) in cursor.fetchall()]


def test_text_array_round_trips_any_text():
    assert round_trip(text_array(AWKWARD), "text") == AWKWARD


def test_text_array_of_json_documents_casts_to_jsonb():
    documents = ['["abuse@one.example"]', '{"urls": [1, 2], "note": "a \\"quote\\""}', "{}"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT x::text FROM unnest(%s::jsonb[]) AS v(x)", [text_array(documents)])
        assert [value for (value,) in cursor.fetchall()] == [
            '["abuse@one.example"]',
            '{"note": "a \\"quote\\"", "urls": [1, 2]}',
            "{}",
        ]


def test_int_array_round_trips_big_negative_and_null():
    values = [0, 1, -7, 2**62, None, 42]
    assert round_trip(int_array(values), "bigint") == values
    assert int_array([]) == "{}"
    assert round_trip(int_array([]), "bigint") == []


def test_timestamp_array_keeps_the_instant_in_any_zone():
    cet = timezone(timedelta(hours=1))
    stamps = [
        datetime(2026, 11, 28, 10, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 11, 28, 11, 0, 0, 123456, tzinfo=cet),  # the same instant as the first
        None,
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
    ]
    assert round_trip(timestamp_array(stamps), "timestamptz") == stamps


def test_timestamp_array_keeps_both_sides_of_a_clock_change_apart():
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    summer = datetime(2026, 10, 25, 2, 30, tzinfo=berlin)  # 02:30 CEST, fold 0
    winter = summer.replace(fold=1)  # 02:30 CET, an hour later
    assert summer == winter and winter - summer == timedelta(0)  # Python's wall-clock comparison
    assert round_trip(timestamp_array([summer, winter]), "timestamptz") == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    ]


def test_field_defaults_refuses_models_with_callable_defaults():
    from notices.models import ProviderResponse

    with pytest.raises(ValueError, match="statement_of_reasons"):
        field_defaults(ProviderResponse)
    assert field_defaults(Notice)["status"] == "draft"


def test_array_literal_dispatches_on_type_and_refuses_others():
    assert array_literal("bigint", [1, None]) == "{1,NULL}"
    assert array_literal("text", ["a"]) == '{"a"}'
    assert array_literal("jsonb", [["abuse@one.example"], {}]) == '{"[\\"abuse@one.example\\"]","{}"}'
    with pytest.raises(ValueError, match="bytea"):
        array_literal("bytea", [])


def test_new_instance_is_a_saved_instance_with_its_relations_cached(provider, django_assert_num_queries):
    now = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    notice = new_instance(
        Notice,
        connection.alias,
        {"id": 999, "reference": "TN-2026-000999", "provider_id": provider.pk, "created_at": now},
        defaults=field_defaults(Notice),
        related={"provider": provider},
    )
    with django_assert_num_queries(0):
        assert notice.provider is provider
        assert (notice.pk, notice.status, notice.language, notice.deadline_at) == (999, "draft", "en", None)
    assert notice._state.adding is False and notice._state.db == connection.alias
    assert notice.get_status_display() == "Draft"


def test_load_instances_matches_in_bulk(provider, other_provider):
    provider.org_handles = ["ORG-EX1-RIPE"]
    provider.save()
    loaded = load_instances(HostingProvider, [provider.pk, other_provider.pk, 10**9])
    expected = HostingProvider.objects.in_bulk([provider.pk, other_provider.pk])
    assert loaded.keys() == expected.keys()
    for pk, instance in loaded.items():
        fields = [f.attname for f in HostingProvider._meta.concrete_fields]
        assert [getattr(instance, f) for f in fields] == [getattr(expected[pk], f) for f in fields]
    assert loaded[provider.pk].org_handles == ["ORG-EX1-RIPE"]  # JSON converted, as the ORM does
    assert loaded[provider.pk]._state.adding is False


def test_collector_paused_restores_the_previous_state():
    import gc

    from tracker.runtime import collector_paused

    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # was off before: stays off
    gc.enable()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block restores what it found: still paused
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("a failing batch")
    assert gc.isenabled()
