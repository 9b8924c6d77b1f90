"""Retire DRF's ``authtoken``: its table holds usable secrets in plain text.

Each of its keys becomes an ``ApiToken`` holding only the key's hash (scopes read
and write, as the old token could do anything its user could), so a script keeps
working once it sends ``Authorization: Bearer <key>`` instead of ``Token <key>``;
then the table is dropped.  Databases that never had the table skip both steps.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.db import migrations

TABLE = "authtoken_token"


def _has_table(schema_editor) -> bool:  # noqa: ANN001
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        return TABLE in connection.introspection.table_names(cursor)


def _aware(created: object) -> dt.datetime | None:
    """A raw column value as an aware UTC time (SQLite gives naive UTC or text)."""
    if isinstance(created, str):
        created = dt.datetime.fromisoformat(created)
    if not isinstance(created, dt.datetime):
        return None
    return created if created.tzinfo else created.replace(tzinfo=dt.UTC)


def forwards(apps, schema_editor) -> None:  # noqa: ANN001
    if not _has_table(schema_editor):
        return
    ApiToken = apps.get_model("scheduling", "ApiToken")
    quoted = schema_editor.quote_name(TABLE)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {quoted}")  # noqa: S608
        rows = cursor.fetchall()
    for key, user_id, created in rows:
        token = ApiToken.objects.create(
            user_id=user_id,
            name="migrated from authtoken",
            scopes=["read", "write"],
            token_hash=hashlib.sha256(key.encode()).hexdigest(),
            token_hint=key[:6],
        )
        if (when := _aware(created)) is not None:
            ApiToken.objects.filter(pk=token.pk).update(created_at=when)
    schema_editor.execute(f"DROP TABLE {quoted}")


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0004_api_tokens")]

    # Irreversible on purpose: recreating the old table would need the plain keys.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
