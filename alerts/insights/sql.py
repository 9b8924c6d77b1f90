"""SQL expressions the insights reports share.

* :class:`Percentile` -- a continuous percentile as an aggregate: PostgreSQL's
  ``percentile_cont(p) WITHIN GROUP (ORDER BY x)``; SQLite has none, so
  :func:`sqlite_register` (called for every new SQLite connection, see
  ``alerts/apps.py``) adds ``oncall_percentile(x, p)`` with the same definition
  (linear interpolation between the closest ranks).
* :func:`local_minute_of_day` / :func:`local_weekday` -- an instant read in the
  time zone named by a column (each member's own), as a ``CASE`` over the zones
  that occur: time-zone rules stay the database's (PostgreSQL ``AT TIME ZONE``) or
  Django's (SQLite), so DST is handled where it always is.
"""

from __future__ import annotations

import contextlib
import functools
import math
import sqlite3
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ParamSpec, TypeVar

from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    Aggregate,
    Case,
    DurationField,
    Expression,
    IntegerField,
    Value,
    When,
)
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, ExtractMinute
from django.db.models.sql.compiler import SQLCompiler


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """The ``fraction`` percentile of ``values`` as PostgreSQL's
    ``percentile_cont`` computes it; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class _SqlitePercentile:
    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value: float | None, fraction: float) -> None:
        if value is not None:
            self.values.append(value)
        self.fraction = fraction

    def finalize(self) -> float | None:
        return percentile_cont(self.values, self.fraction)


def sqlite_register(connection: BaseDatabaseWrapper, **_: Any) -> None:
    """Add ``oncall_percentile`` to a new SQLite connection (``connection_created``)."""
    if connection.vendor == "sqlite":
        raw: sqlite3.Connection = connection.connection
        raw.create_aggregate("oncall_percentile", 2, _SqlitePercentile)  # type: ignore[arg-type]


class Percentile(Aggregate):
    """``Percentile(expression, 0.9)``: the continuous 90th percentile.

    For a duration the result is a duration (PostgreSQL interpolates intervals;
    on SQLite durations are microseconds, which Django turns back into one)."""

    function = "PERCENTILE_CONT"
    name = "Percentile"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("a percentile's fraction lies in [0, 1]")
        self.fraction = float(fraction)
        super().__init__(expression, **extra)

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, Any]:
        node = self
        if connection.vendor == "sqlite":
            node = self.copy()
            node.function = "oncall_percentile"
            node.template = "%(function)s(%(expressions)s, %(fraction)s)"
        return Aggregate.as_sql(
            node, compiler, connection, fraction=repr(self.fraction), **extra
        )


def duration_percentile(expression: Any, fraction: float, **extra: Any) -> Percentile:
    return Percentile(expression, fraction, output_field=DurationField(), **extra)


P = ParamSpec("P")
R = TypeVar("R")


def without_jit(report: Callable[P, R]) -> Callable[P, R]:
    """Run ``report`` with PostgreSQL's JIT compiler off (``SET LOCAL jit = off``
    in a transaction).  The reports' correlated subqueries make the planner's cost
    estimates huge, so PostgreSQL compiles them, and the compiling took longer than
    the queries themselves: 2 to 4 s of 5 s for the org-wide alert quality on a
    year of history (``bench/insights.py --explain``).  Nothing changes elsewhere."""

    @functools.wraps(report)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if connection.vendor != "postgresql":
            return report(*args, **kwargs)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            return report(*args, **kwargs)

    return run


@contextlib.contextmanager
def hash_joins_only(*, when: bool = True) -> Iterator[None]:
    """Inside a report's transaction (:func:`without_jit`), PostgreSQL plans the
    queries run here without nested loops (``SET LOCAL enable_nestloop``, back on
    after).  For the org-wide alert quality's page count: the planner estimates
    the interruption rule's anti-join at 1 row (it is 150,000 over a year), joins
    incidents, members and teams to it by nested loops, one index probe per page,
    and spends 2.3 s where hash joins take 1.6 s (EXPLAIN ANALYZE, 3 runs each,
    ``bench/insights.py --explain``).  A team's quarter keeps its index probes
    (``when=False``)."""
    if not when or connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_nestloop = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_nestloop = on")


def _by_zone(
    zone_field: str, zones: Iterable[str], make: Any, default: Any
) -> Expression:
    whens = [
        When(**{zone_field: name}, then=make(zoneinfo.ZoneInfo(name)))
        for name in sorted(set(zones))
    ]
    if not whens:
        return Value(default, output_field=IntegerField())
    return Case(*whens, default=Value(default), output_field=IntegerField())


def local_minute_of_day(instant: str, zone_field: str, zones: Iterable[str]) -> Any:
    """Minutes since local midnight (0-1439) of ``instant`` in the zone named by
    ``zone_field``; -1 for a zone not in ``zones``."""

    def make(tz: zoneinfo.ZoneInfo) -> Any:
        return ExtractHour(instant, tzinfo=tz) * Value(60) + ExtractMinute(
            instant, tzinfo=tz
        )

    return _by_zone(zone_field, zones, make, -1)


def local_weekday(instant: str, zone_field: str, zones: Iterable[str]) -> Any:
    """ISO weekday (1 = Monday) of ``instant`` in the zone named by ``zone_field``."""
    return _by_zone(
        zone_field, zones, lambda tz: ExtractIsoWeekDay(instant, tzinfo=tz), 0
    )


__all__ = [
    "Percentile",
    "duration_percentile",
    "hash_joins_only",
    "local_minute_of_day",
    "local_weekday",
    "percentile_cont",
    "sqlite_register",
    "without_jit",
]
