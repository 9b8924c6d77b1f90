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
from datetime import datetime
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


def update_from_values(
    model: type[models.Model],
    fields: list[str],
    rows: list[tuple],
    constants: dict[str, object],
) -> None:
    """``UPDATE table SET f = v.f, ... FROM (rows) v WHERE id = v.id`` in one
    statement: each row is (id, *values of fields).  Works on PostgreSQL and SQLite
    (3.33+); datetimes go through the backend's own adaptation."""
    if not rows:
        return
    ops = connection.ops
    qn = ops.quote_name
    table = qn(model._meta.db_table)

    def adapt(value: object) -> object:
        if isinstance(value, datetime):
            return ops.adapt_datetimefield_value(value)
        return value

    # A VALUES list, not a UNION ALL of one-row SELECTs: PostgreSQL plans the
    # latter in time that grows with the rows (50 ms for 500), the former at once.
    # Both databases name a VALUES list's columns column1, column2, ...
    columns = ["id", *fields]
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    names = ", ".join(f"column{n} AS {qn(c)}" for n, c in enumerate(columns, 1))
    value_rows = ", ".join([row_sql] * len(rows))
    # Names quoted, values all parameters.
    values_sql = f"SELECT {names} FROM (VALUES {value_rows}) AS rows"  # noqa: S608
    assignments = [f"{qn(f)} = v.{qn(f)}" for f in fields] + [
        f"{qn(name)} = %s" for name in constants
    ]
    sql = (
        f"UPDATE {table} SET {', '.join(assignments)} "  # noqa: S608 - names quoted
        f"FROM ({values_sql}) AS v WHERE {table}.{qn('id')} = v.{qn('id')}"
    )
    params: list[Any] = [adapt(v) for v in constants.values()]
    params += [adapt(value) for row in rows for value in row]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
