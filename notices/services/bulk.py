"""Set-based writes the ORM does slowly: updating many rows with different values in one statement."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models.base import ModelState

PLAIN_TYPES = {
    "CharField", "TextField", "IntegerField", "BigIntegerField", "PositiveIntegerField", "PositiveSmallIntegerField",
    "SmallIntegerField", "BooleanField", "DateTimeField", "ForeignKey", "BigAutoField", "AutoField",
}  # fmt: skip


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
    and `__init__`'s per-field work cost more than the query that read them. Models with init signals (file and
    image fields) need `from_db`."""
    obj = model.__new__(model)
    state = ModelState()
    state.adding, state.db = False, alias
    obj._state = state
    obj.__dict__.update(zip(attnames, values, strict=True))
    return obj
