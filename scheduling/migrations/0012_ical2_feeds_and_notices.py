"""Issue 14, the rest: short-notice SMS retried, and a covering index for polls.

Notices: ``attempts``, ``next_attempt_at`` and ``failed_at`` (alerts/paging/
shift_notices.py retries a transient failure with backoff).  A notice that had
failed before this migration (``error`` set, never retried then) is marked failed.

A covering index for the feed poll (scheduling/feeds.py, ``feed_for_poll``).

On PostgreSQL an unchanged poll then reads the index alone (an index-only scan):
the live token's hash is the key, and every column the poll reads is in it.
Other databases keep the unique index on ``token_hash``.  Written as SQL for
PostgreSQL only, and so not in the model's state: Django's ``Index(include=...)``
raises a system-check warning on SQLite, the development database.
"""

from __future__ import annotations

from django.db import migrations, models

INDEX = "feed_poll_covering"


def create(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON scheduling_feedtoken (token_hash) "
        "INCLUDE (id, member_id, team_id, rotation_id, last_polled_at, "
        "last_user_agent) WHERE revoked_at IS NULL"
    )


def drop(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


def mark_failed(apps, schema_editor) -> None:  # noqa: ANN001
    notice = apps.get_model("scheduling", "ShiftChangeNotice")
    notice.objects.filter(sent_at__isnull=True).exclude(error="").update(
        failed_at=models.F("created_at"), attempts=1
    )


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0011_pay2_given_away")]

    operations = [
        migrations.RunPython(create, drop),
        migrations.AddField(
            model_name="shiftchangenotice",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="shiftchangenotice",
            name="failed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="shiftchangenotice",
            name="next_attempt_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="shiftchangenotice",
            name="error",
            field=models.CharField(
                blank=True, help_text="Why the last attempt failed.", max_length=300
            ),
        ),
        migrations.RunPython(mark_failed, migrations.RunPython.noop),
    ]
