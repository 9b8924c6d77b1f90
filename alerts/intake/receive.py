"""Receiving a webhook: one INSERT into the inbox, committed, then a wake-up.

The hottest path we have.  Nothing is parsed into alerts here: a delivery answered 2xx
is in the database, and processing happens in a worker (``intake/drain.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import (
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import Field

from alerts.intake import wakeup
from alerts.intake.group_commit import GroupCommit
from alerts.models import (
    WebhookDelivery,
)

logger = logging.getLogger(__name__)


T = TypeVar("T")


def delivery_receive(
    *,
    integration_id: int,
    body: str,
    headers: dict[str, str],
    auth: str,
    group_key: str,
) -> int:
    """Store an accepted webhook and enqueue its processing once committed.

    This is all the webhook view does after validating: one INSERT, one commit, and
    a publish (or, under a storm, one Redis SET that finds a task already queued:
    see ``alerts.intake.wakeup``).  If the broker is down the publish fails quietly
    and the sweep picks the row up later.

    Outside a transaction the INSERT goes through the process's group commit
    (``alerts.intake.group_commit``): webhooks that arrive in other threads of this
    process at the same moment share its statement and its commit, so the database
    flushes its WAL once for all of them.  Either way the row is committed when this
    returns.
    """
    values = {
        "integration_id": integration_id,
        "body": body,
        "headers": headers,
        "auth": auth,
        "group_key": group_key,
    }
    row = _row(values)
    if connection.in_atomic_block:
        # The caller's transaction: the row commits with it, and the wake-up waits
        # for that commit, which alerts.intake.wakeup relies on.
        delivery_id = _insert_rows([row])[0]
    else:
        delivery_id = _inbox(row)
    transaction.on_commit(lambda: wakeup.wake_processing(delivery_id))
    return delivery_id


_INSERT_FIELDS = [f for f in WebhookDelivery._meta.concrete_fields if not f.primary_key]


# The INSERT of n rows, per database vendor and n.
_insert_sql: dict[tuple[str, int], str] = {}


def _row(values: dict[str, object]) -> list[Any]:
    """The INSERT's parameters for a new delivery with these field values (by
    attribute name; the others take their defaults).

    What ``Model.save()`` does for a new row (defaults, then each field's own
    conversion to its database value), minus building a model instance and the
    query compiler, which together cost more than the INSERT's round trip on the
    webhook's hot path.  WebhookDelivery has no save signals.
    """
    return [
        field.get_db_prep_save(values[field.attname], connection)
        if field.attname in values
        else _default_param(field)
        for field in _INSERT_FIELDS
    ]


def _insert_rows(rows: list[list[Any]]) -> list[int]:
    """``INSERT ... VALUES (...), (...) RETURNING id``: one statement, so in
    autocommit mode one transaction and one commit; returns the new ids in the
    order of ``rows``."""
    key = (connection.vendor, len(rows))
    sql = _insert_sql.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in _INSERT_FIELDS)
        marks = ", ".join(["%s"] * len(_INSERT_FIELDS))
        sql = _insert_sql[key] = (
            f"INSERT INTO {quote(WebhookDelivery._meta.db_table)} "  # noqa: S608
            f"({columns}) VALUES "
            + ", ".join([f"({marks})"] * len(rows))
            + f" RETURNING {quote('id')}"
        )
    params = [param for row in rows for param in row]
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        ids = _insert_prepared(sql, params)
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            ids = [found for (found,) in cursor.fetchall()]
    if len(ids) != len(rows):
        raise RuntimeError(f"INSERT of {len(rows)} rows returned {len(ids)} ids")
    # The ids are drawn in the order the VALUES rows are inserted; sorted, they
    # match ``rows`` whatever order RETURNING lists them in.
    return sorted(ids)


# A field's database value for a constant default (0, "", None), made once per
# process: converting eleven fields each time was a fifth of the INSERT's CPU.
_constant_params: dict[tuple[str, str], Any] = {}


def _default_param(field: Field) -> Any:
    """The database value of ``field``'s default: made again for a callable
    default (``received_at``'s ``timezone.now``), remembered for a constant one."""
    if callable(field.default):
        return field.get_db_prep_save(field.get_default(), connection)
    key = (connection.vendor, field.attname)
    try:
        return _constant_params[key]
    except KeyError:
        param = _constant_params[key] = field.get_db_prep_save(
            field.get_default(), connection
        )
        return param


def _insert_prepared(sql: str, params: list) -> list[int]:
    """The INSERT as a prepared statement with server-side parameters: PostgreSQL
    parses and plans it once per connection (and batch size) instead of once per
    webhook.  Django's own cursors bind parameters client-side
    (``server_side_binding`` off), which suits the rest of the project; this one
    statement is the hot path."""
    import psycopg

    with connection.wrap_database_errors:
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, params, prepare=True)
            return [found for (found,) in cursor.fetchall()]


# The process's webhook inbox writer: one per process, shared by its threads.  A
# row the database refuses (an integrity or data error) fails alone: the batch it
# was in is written again one row at a time.
_inbox: GroupCommit[list[Any], int] = GroupCommit(
    lambda rows: _with_reconnect(lambda: _insert_rows(rows)),
    split_on=(IntegrityError, DataError),
)


def _with_reconnect(write: Callable[[], T]) -> T:
    """Run one autocommit write on this thread's connection (the group commit's
    leader's, for a batch) without Django's per-request health check, reconnecting
    once if the connection turns out dead.

    ``CONN_HEALTH_CHECKS`` costs a ``SELECT 1`` round trip before the first query of
    every request: on the webhook, whose only query is its INSERT, that was a
    third of its time under load.  The check exists for a connection that died
    while idle (the database restarted); here the write itself finds that out,
    and is simply made again on a new connection.  If the database is really
    down, the second attempt raises and the client gets the 503 of
    ``oncall.middleware`` (every request of the batch does).  A write repeated
    after a commit whose answer was lost stores its webhooks twice, which
    processing treats as the repeats they are.
    """
    if connection.in_atomic_block:
        return write()  # the caller's transaction: nothing to redo on our own
    if connection.connection is not None:
        # Django's flag: "checked this request" (private, so not in django-stubs).
        connection.health_check_done = True  # type: ignore[attr-defined]
    try:
        return write()
    except (OperationalError, InterfaceError):
        if connection.is_usable():
            raise
        logger.info("database connection was dead; reconnecting")
        connection.close()
        return write()
