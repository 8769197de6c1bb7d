"""Set-based writes the ORM does slowly: updating many rows with different values in one statement, arrays for
INSERT … SELECT FROM unnest, and model instances built without `__init__`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import connection
from django.db.models.base import ModelState

PLAIN_TYPES = {
    "CharField",
    "TextField",
    "IntegerField",
    "BigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
    "BooleanField",
    "DateTimeField",
    "ForeignKey",
    "BigAutoField",
    "AutoField",
}


def _column(field, objs: Sequence) -> list:
    """One column's values. Plain types go to the driver as they are (it adapts str, int, bool, aware datetime
    and None itself): Django's per-value preparation costs more than the UPDATE on the hot path."""
    if field.get_internal_type() in PLAIN_TYPES:
        return [getattr(obj, field.attname) for obj in objs]
    return [field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in objs]


def bulk_set(model, objs: Sequence, field_names: Sequence[str]) -> int:
    """`UPDATE table SET f = v.f, … FROM unnest(arrays) AS v WHERE table.id = v.id` for `objs`.

    Django's bulk_update builds one CASE WHEN per field with a branch per row, which PostgreSQL evaluates per
    row: quadratic, seconds for a thousand rows. Arrays of each column keep it linear.
    """
    if not objs or not field_names:
        return 0
    fields = [model._meta.get_field(name) for name in field_names]
    pk = model._meta.pk
    arrays = [[getattr(obj, pk.attname) for obj in objs]]
    arrays += [_column(field, objs) for field in fields]
    types = [pk.db_type(connection), *(field.db_type(connection) for field in fields)]
    names = [pk.column, *(field.column for field in fields)]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    unnest = ", ".join(f"%s::{db_type}[]" for db_type in types)
    assignments = ", ".join(f"{quote(name)} = v.{quote(name)}" for name in names[1:])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM unnest({unnest}) AS v({', '.join(map(quote, names))}) "
            f"WHERE {table}.{quote(pk.column)} = v.{quote(pk.column)}",
            arrays,
        )
        return cursor.rowcount


def loaded_instance(model, alias: str, attnames: Sequence[str], values: Sequence):
    """A model instance of a database row read by hand, as `Model.from_db` makes it (saved, fields not given
    deferred and loaded on first access), without running `__init__`: a batch builds ten thousand of these,
    and `__init__`'s per-field work cost more than the query that read them. Models with init signals (file
    and image fields) need `from_db`."""
    obj = model.__new__(model)
    state = ModelState()
    state.adding, state.db = False, alias
    obj._state = state
    obj.__dict__.update(zip(attnames, values, strict=True))
    return obj


def load_instances(model, pks: Iterable[int]) -> dict:
    """`model.objects.in_bulk(pks)`, read with one plain statement and built by `loaded_instance` (each value
    through the converters the ORM applies, e.g. JSON decoding): for a batch's hundreds of providers the
    queryset's compilation and per-row construction cost several times the query."""
    fields = model._meta.concrete_fields
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(quote(f.column) for f in fields)} FROM {quote(model._meta.db_table)} "
            f"WHERE {quote(model._meta.pk.column)} = ANY(%s)",
            [list(pks)],
        )
        rows = cursor.fetchall()
    converters = [
        (i, convert, field.cached_col)
        for i, field in enumerate(fields)
        for convert in connection.ops.get_db_converters(field.cached_col)
        + field.get_db_converters(connection)
    ]
    attnames = [f.attname for f in fields]
    pk_index = attnames.index(model._meta.pk.attname)
    instances = {}
    for row in rows:
        if converters:
            row = list(row)
            for i, convert, expression in converters:
                row[i] = convert(row[i], expression, connection)
        instances[row[pk_index]] = loaded_instance(model, connection.alias, attnames, row)
    return instances


def new_instance(model, alias: str, values: dict, *, defaults: dict, related: dict | None = None):
    """A model instance of a row a batch writes itself, as `Model(**values, **related)` would be once saved,
    without running `__init__` (a batch makes thousands, and `__init__`'s per-field work costs more than
    writing them): `values` by attribute name (`provider_id`), `defaults` (from `field_defaults`, made once
    per batch) for the fields not named, and `related` objects (by field name) cached as a select_related
    would."""
    obj = model.__new__(model)
    state = ModelState()
    state.adding, state.db = False, alias
    obj._state = state
    obj.__dict__.update(defaults)
    obj.__dict__.update(values)
    if related:
        state.fields_cache.update(related)
    return obj


def field_defaults(model) -> dict:
    """Each concrete field's default by attribute name (what `__init__` would set), for `new_instance`. Made
    once, so the instances share them: a model with a callable default (`default=dict`,
    `default=timezone.now`) would share one value among all its instances, so it is refused."""
    made = [f.name for f in model._meta.concrete_fields if f.has_default() and callable(f.default)]
    if made:
        raise ValueError(
            f"{model.__name__} has callable defaults ({', '.join(made)}): build it with __init__"
        )
    return {field.attname: field.get_default() for field in model._meta.concrete_fields}


# --- Array literals
# -------------------------------------------------------------------------------------------
# The driver adapts a list parameter element by element (an adapter object, a quoted string, a cast each); for
# the
# tens of thousands of values a batch writes, that costs more than PostgreSQL's work on them, and it runs with
# the
# interpreter lock held. The same array as one literal string (`'{1,2,3}'`, cast in the SQL: `%s::bigint[]`)
# is
# built by a join and quoted once.


def int_array(values: Iterable[int | None]) -> str:
    """`{1,2,NULL}`: the literal of an integer array."""
    return "{" + ",".join("NULL" if value is None else str(value) for value in values) + "}"


def text_array(values: Iterable[str | None]) -> str:
    """`{"a","b \\"c\\"",NULL}`: the literal of a text array, every element quoted (backslashes and double
    quotes escaped), so any text survives, blanks and the word NULL included."""
    return "{" + ",".join("NULL" if value is None else _quoted(value) for value in values) + "}"


def _quoted(value: str) -> str:
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if '"' in value:
        value = value.replace('"', '\\"')
    return f'"{value}"'


def array_literal(db_type: str, values: Iterable) -> str:
    """The literal of an array of `db_type` ("bigint", "int", "text", "timestamptz", or "jsonb" of JSON-able
    values)."""
    if db_type in ("bigint", "int", "integer"):
        return int_array(values)
    if db_type == "timestamptz":
        return timestamp_array(values)
    if db_type == "text":
        return text_array(values)
    if db_type == "jsonb":
        return text_array(json.dumps(value) for value in values)
    raise ValueError(f"no array literal for {db_type}")


def timestamp_array(values: Iterable[datetime | None]) -> str:
    """The literal of a timestamptz array (aware datetimes, ISO 8601); a batch's rows share a few instants, so
    each distinct one is formatted once (keyed with its UTC offset too: two wall-clock-equal times in one zone
    either side of a clock change compare equal, yet are an hour apart)."""
    formatted: dict[tuple, str] = {}

    def iso(value: datetime) -> str:
        key = (value, value.utcoffset())
        return formatted.get(key) or formatted.setdefault(key, value.isoformat())

    return text_array(None if value is None else iso(value) for value in values)
