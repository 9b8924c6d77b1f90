"""Bulk writes cheaper than Django's ``bulk_update`` for the shapes batches have.

``QuerySet.bulk_update`` builds one ``CASE WHEN pk = ... THEN ...`` per field per
row: for a hundred escalations and nine fields that is 900 expressions to build and
compile, tens of milliseconds of Python per batch, more than the database spends.
The rows of a batch mostly get the *same* values (a burst's escalations all move
from step 1 to step 2 at the same moment), so grouping them costs a handful of
plain ``UPDATE ... WHERE id IN (...)``; what differs per row (a provider's message
id) gets one plain ``CASE`` for that field alone.  A large batch where every row
differs and no filter guards the write (the intake marking hundreds of webhooks
processed) uses :func:`update_from_values`, a join against a list of values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, connections, models
from django.db.models.expressions import RawSQL


def update_grouped(
    queryset: models.QuerySet[Any] | models.Manager[Any],
    objs: Sequence[models.Model],
    fields: Sequence[str],
) -> int:
    """Write ``fields`` of ``objs`` (through ``queryset``, whose filters apply),
    one UPDATE per distinct combination of values; returns rows updated."""
    groups: dict[tuple, list] = {}
    for obj in objs:
        key = tuple(getattr(obj, name) for name in fields)
        groups.setdefault(key, []).append(obj.pk)
    updated = 0
    for values, pks in groups.items():
        updated += queryset.filter(pk__in=pks).update(
            **dict(zip(fields, values, strict=True))
        )
    return updated


def update_per_row(
    queryset: models.QuerySet,
    objs: Sequence[models.Model],
    varying: Sequence[str],
    same: dict,
) -> int:
    """One UPDATE for all ``objs``: each of ``varying`` from the row's own value
    (a CASE on the primary key), ``same`` for every row."""
    if not objs:
        return 0
    if len(objs) == 1:  # the one-page case: a plain UPDATE
        values = {name: getattr(objs[0], name) for name in varying}
        return queryset.filter(pk=objs[0].pk).update(**values, **same)
    model = queryset.model
    connection = connections[queryset.db]
    quote = connection.ops.quote_name
    pk = f"{quote(model._meta.db_table)}.{quote(model._meta.pk.column)}"
    values = dict(same)
    for name in varying:
        field = model._meta.get_field(name)
        # A simple CASE written out: Django's Case/When resolves a Q object per
        # row, which costs more than the UPDATE itself.
        params: list = []
        for obj in objs:
            params += [obj.pk, field.get_db_prep_save(getattr(obj, name), connection)]
        # Only quoted identifiers and placeholders in the SQL; values are params.
        values[name] = RawSQL(  # noqa: S611
            f"CASE {pk}" + " WHEN %s THEN %s" * len(objs) + " END",
            params,
            output_field=field,
        )
    return queryset.filter(pk__in=[obj.pk for obj in objs]).update(**values)


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field


def update_from_values(
    model: type[models.Model],
    fields: list[str],
    rows: list[tuple],
    constants: dict[str, object],
) -> None:
    """``UPDATE table SET f = v.f, ... FROM (rows) v WHERE id = v.id`` in one
    statement: each row is (id, *values of fields).  Works on PostgreSQL and SQLite
    (3.33+) for fields of any type: each value goes through its field's own
    ``get_db_prep_save`` (datetimes, JSON), and on PostgreSQL each column of the
    VALUES list is cast to its field's type (a parameter's type is only inferred
    from the first row, and ``jsonb`` is never inferred)."""
    if not rows:
        return
    ops = connection.ops
    qn = ops.quote_name
    meta = model._meta
    table = qn(meta.db_table)
    columns = [_field(model, meta.pk.name), *(_field(model, name) for name in fields)]

    def column_sql(n: int, field: models.Field[Any, Any]) -> str:
        if connection.vendor == "postgresql":
            return f"CAST(column{n} AS {field.db_type(connection)})"
        return f"column{n}"

    # A VALUES list, not a UNION ALL of one-row SELECTs: PostgreSQL plans the
    # latter in time that grows with the rows (50 ms for 500), the former at once.
    # Both databases name a VALUES list's columns column1, column2, ...
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    names = ", ".join(
        f"{column_sql(n, field)} AS {qn(field.column)}"
        for n, field in enumerate(columns, 1)
    )
    value_rows = ", ".join([row_sql] * len(rows))
    # Names quoted, values all parameters.
    values_sql = f"SELECT {names} FROM (VALUES {value_rows}) AS rows"  # noqa: S608
    pk = qn(meta.pk.column)
    assignments = [
        f"{qn(field.column)} = v.{qn(field.column)}" for field in columns[1:]
    ] + [f"{qn(_field(model, name).column)} = %s" for name in constants]
    sql = (
        f"UPDATE {table} SET {', '.join(assignments)} "  # noqa: S608 - names quoted
        f"FROM ({values_sql}) AS v WHERE {table}.{pk} = v.{pk}"
    )
    params: list[Any] = [
        _field(model, name).get_db_prep_save(value, connection)
        for name, value in constants.items()
    ]
    params += [
        field.get_db_prep_save(value, connection)
        for row in rows
        for field, value in zip(columns, row, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def update_objects(objs: Sequence[models.Model], fields: list[str]) -> None:
    """Write ``fields`` of model objects (all of one model) in one
    :func:`update_from_values` statement: what ``QuerySet.bulk_update`` does, without
    its ``CASE WHEN`` per row and field (most of a worker's CPU when a storm's
    repeats carry changed annotations)."""
    if not objs:
        return
    update_from_values(
        type(objs[0]),
        fields,
        [(obj.pk, *(getattr(obj, name) for name in fields)) for obj in objs],
        {},
    )
