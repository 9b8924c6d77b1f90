"""Imports started from the admin and run by a Celery worker: an :class:`ImportRun`
row holds the source, the progress and, at the end, the report.

The admin calls :func:`import_run_start`, which stores the run and publishes
``alerts.tasks.import_run`` on commit with the run's id and the token *sealed*
(``token_seal.py``); the task calls :func:`import_run_execute`, which claims the
run (a conditional update, so a message delivered twice runs it once), writes
each stage to the row as it starts (outside the import's transaction, so the page
polling the row sees it move) and stores the report.  Nothing here logs the token.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.utils import timezone

from alerts import queue
from alerts.importers.run import (
    IMPORT_ERRORS,
    STAGES,
    import_error_text,
    import_run,
    report_lines,
)
from alerts.importers.token_seal import TOKEN_TTL, SealBroken, token_open, token_seal
from alerts.models import ImportRun

logger = logging.getLogger(__name__)

NEVER_STARTED = (
    "no worker started the import within {ttl}; the token it was given can no "
    "longer be opened: start it again"
)


def import_run_start(
    *,
    source: str,
    url: str,
    token: str,
    team: str = "",
    dry_run: bool = False,
    by: Any = None,
) -> ImportRun:
    """Store a queued run and hand it to a worker (on commit)."""
    run = ImportRun.objects.create(
        source=source,
        url=url,
        team=team,
        dry_run=dry_run,
        total=STAGES,
        started_by=by if by is not None and by.is_authenticated else None,
    )
    queue.publish_on_commit(queue.IMPORT_RUN, run.pk, token_seal(token))
    return run


def _finish(run_id: int, *, status: str, report: str = "", error: str = "") -> None:
    ImportRun.objects.filter(pk=run_id).update(
        status=status,
        report=report,
        error=error,
        finished_at=timezone.now(),
    )


def import_run_execute(*, run_id: int, sealed_token: str) -> str:
    """Run the import of a queued run; its final status (or why it was skipped)."""
    claimed = ImportRun.objects.filter(
        pk=run_id, status=ImportRun.Status.QUEUED
    ).update(status=ImportRun.Status.RUNNING, started_at=timezone.now())
    if claimed != 1:
        return "skipped: not queued"  # run already, or expired
    run = ImportRun.objects.get(pk=run_id)
    try:
        token = token_open(sealed_token)
    except SealBroken as exc:
        _finish(run_id, status=ImportRun.Status.FAILED, error=str(exc))
        return ImportRun.Status.FAILED

    def progress(stage: str, done: int, total: int) -> None:
        ImportRun.objects.filter(pk=run_id).update(stage=stage, done=done, total=total)

    try:
        report = import_run(
            source=run.source,
            url=run.url,
            token=token,
            team=run.team or None,
            dry_run=run.dry_run,
            progress=progress,
        )
    except IMPORT_ERRORS as exc:
        _finish(run_id, status=ImportRun.Status.FAILED, error=import_error_text(exc))
        return ImportRun.Status.FAILED
    except Exception as exc:
        # Our bug, not the source's: the trace goes to the worker's log (the
        # token is in no exception we raise), the page says where to look.
        logger.exception("import run %s failed", run_id)
        _finish(
            run_id,
            status=ImportRun.Status.FAILED,
            error=f"unexpected {type(exc).__name__}; the worker's log has the "
            "details (what was applied, if anything, was rolled back)",
        )
        return ImportRun.Status.FAILED
    finally:
        token = ""
    _finish(
        run_id,
        status=ImportRun.Status.SUCCEEDED,
        report="\n".join(report_lines(report, dry_run=run.dry_run, show_tokens=False)),
    )
    return ImportRun.Status.SUCCEEDED


def import_runs_expire(*, now: dt.datetime | None = None) -> int:
    """Fail the runs no worker started while their token could still be opened
    (the broker was down, no worker ran): they never will."""
    now = now or timezone.now()
    return ImportRun.objects.filter(
        status=ImportRun.Status.QUEUED, created_at__lt=now - TOKEN_TTL
    ).update(
        status=ImportRun.Status.FAILED,
        error=NEVER_STARTED.format(ttl=TOKEN_TTL),
        finished_at=now,
    )
