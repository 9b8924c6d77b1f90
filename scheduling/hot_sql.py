"""Running the statements of the hot paths: a feed poll's lookup, an API
token's lookup, the deploy gate's facts.

Each of them is compiled by the ORM once per process (its caller keeps the SQL
and fills in a call's values), and :func:`hot_fetch` runs it:

* **prepared on PostgreSQL** (``PREPARED_STATEMENTS``, on by default): parsed
  and planned once per connection, then only bound and run.  Django's own
  cursors bind parameters client-side and never prepare; these statements alone
  do.  Off behind a pooler that cannot keep protocol-level prepared statements
  (PgBouncer before 1.21 in transaction mode).
* **its own health check**: ``CONN_HEALTH_CHECKS`` would send a ``SELECT 1``
  before the first statement of every request, a round trip as costly as the
  lookup itself.  The statement checks instead: on a connection that broke since
  the last request (PostgreSQL restarted) it fails, and runs once more on a new
  connection.  Inside a transaction, or on a connection opened for it, the
  error is raised as it came.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING, Any, Literal

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.utils.dateparse import parse_datetime

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

# A psycopg prepare threshold no statement reaches: only those that ask are
# prepared (None, Django's setting, turns preparing off even when asked).
ONLY_WHEN_ASKED = 2**62


def hot_fetch(
    connection: BaseDatabaseWrapper,
    sql: str,
    args: list[Any],
    rows: Literal["one", "all"] = "one",
) -> Any:
    """Run ``sql`` with ``args`` on ``connection`` as described above; the first
    row (``None`` if none) or, with ``rows="all"``, every row."""
    fresh = connection.connection is None
    # Counts as this request's health check (Django runs it before the first
    # statement of a request when CONN_HEALTH_CHECKS is on).
    connection.health_check_done = True  # type: ignore[attr-defined]
    try:
        return _fetch(connection, sql, args, rows)
    except (OperationalError, InterfaceError):
        if fresh or connection.in_atomic_block:
            raise
        connection.close()
        return _fetch(connection, sql, args, rows)


def _fetch(
    connection: BaseDatabaseWrapper, sql: str, args: list[Any], rows: str
) -> Any:
    if connection.vendor == "postgresql" and settings.PREPARED_STATEMENTS:
        cursor = _prepared_cursor(connection)
    else:
        cursor = connection.cursor()
    with cursor:
        cursor.execute(sql, args)
        return cursor.fetchone() if rows == "one" else cursor.fetchall()


@functools.cache
def _prepared_cursor_class() -> type:
    # Imported on first use: only a PostgreSQL deployment has psycopg loaded.
    from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]
        ServerBindingCursor,
    )

    class PreparedCursor(ServerBindingCursor):
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            return super().execute(query, params, prepare=True)

    return PreparedCursor


def _prepared_cursor(connection: BaseDatabaseWrapper) -> Any:
    """A cursor whose statements are prepared on the server, wrapped as Django
    wraps its own (errors become Django's, and the statement is counted where
    queries are counted)."""
    connection.ensure_connection()
    link = connection.connection
    if link.prepare_threshold is None:
        link.prepare_threshold = ONLY_WHEN_ASKED
    raw = _prepared_cursor_class()(link)
    if connection.queries_logged:
        return _LoggedPreparedCursor(raw, connection)
    return connection.make_cursor(raw)


class _LoggedPreparedCursor(CursorDebugWrapper):
    """Django's query log for the prepared cursor: the statement as written,
    with its parameters (a prepared statement leaves psycopg no text of "the
    last executed query" for Django to read: it would log None)."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(sql, params):
            return CursorWrapper.execute(self, sql, params)


def column_instant(value: object) -> dt.datetime | None:
    """A timestamp column of a hot statement's row as an aware UTC datetime,
    whatever the backend's cursor returned (PostgreSQL: aware; SQLite: text or
    naive)."""
    if value is None:
        return None
    moment = value if isinstance(value, dt.datetime) else parse_datetime(str(value))
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment
