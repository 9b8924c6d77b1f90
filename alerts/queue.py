"""Publishing follow-up work: by registered task name, on commit.

Services never import ``alerts.tasks`` (the tasks import the services); they name
the work to do here, and a worker picks it up.  This is Zulip's
``queue_event_on_commit`` with Celery task names: the dependency runs one way, and a
task name is a contract with messages already sitting in the broker, so the names
below never change.

Publishing never raises.  Whatever a task would process is already in the database,
and a periodic sweep publishes it again if the broker was down: raising here would
turn a stored, accepted request into a 500.

``tests/alerts/test_queue.py`` checks that every name published is a registered task.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

# The task names services publish (the tasks are defined in alerts/tasks.py).
PROCESS_DELIVERY = "alerts.tasks.process_delivery"
ESCALATION_ADVANCE = "alerts.tasks.escalation_advance"
PAGE_SEND = "alerts.tasks.page_send"
BUNDLE_SEND = "alerts.tasks.bundle_send"
HANDOFF_NOTIFY = "alerts.tasks.handoff_notify"
# (run id, sealed token): alerts/importers/runs.py
IMPORT_RUN = "alerts.tasks.import_run"
PUBLISHED = frozenset(
    {
        PROCESS_DELIVERY,
        ESCALATION_ADVANCE,
        PAGE_SEND,
        BUNDLE_SEND,
        HANDOFF_NOTIFY,
        IMPORT_RUN,
    }
)

# No countdown longer than this anywhere: on Redis a task whose ETA passes the
# visibility timeout is delivered twice (DESIGN.md, escalation flow).
MAX_COUNTDOWN_SECONDS = 60.0

# Rows falling due within this much of each other share a task, published with
# the last one's due time: a burst's thousand steps (or pages) due in the same
# second become a few tasks, at the price of a row firing at most this much
# after its due time.
ETA_SPREAD = timedelta(milliseconds=100)


def publish(name: str, *args: object, countdown: float | None = None) -> bool:
    """Publish task ``name`` now (not waiting for a commit); False if the broker
    refused it (logged; a sweep publishes the work again)."""
    if name not in PUBLISHED:
        raise ValueError(f"{name!r} is not a task services may publish")
    options: dict[str, Any] = {}
    if countdown is not None and countdown > 0:
        options["countdown"] = min(countdown, MAX_COUNTDOWN_SECONDS)
    try:
        current_app.send_task(name, args=args, **options)
    except Exception:  # broker down: the lease runs out, a later sweep publishes
        logger.warning("could not publish %s%s; a sweep will", name, args[:1])
        return False
    return True


def publish_on_commit(name: str, *args: object) -> None:
    """Publish task ``name`` once the current transaction commits (at once when
    there is none), never raising."""
    if name not in PUBLISHED:
        raise ValueError(f"{name!r} is not a task services may publish")
    transaction.on_commit(lambda: publish(name, *args))


def id_chunks(ids: Iterable[int]) -> list[list[int]]:
    """``ids`` in lists of at most ``ESCALATION_TASK_BATCH``: what one task gets."""
    ids = list(ids)
    size = max(settings.ESCALATION_TASK_BATCH, 1)
    return [ids[n : n + size] for n in range(0, len(ids), size)]


def publish_ids_on_commit(name: str, ids: Iterable[int]) -> None:
    """On commit, publish ``name`` for ``ids`` in tasks of at most
    ``ESCALATION_TASK_BATCH`` ids each."""
    for chunk in id_chunks(ids):
        publish_on_commit(name, chunk)


def due_chunks(
    rows: list[tuple[int, datetime]], *, now: datetime
) -> list[tuple[list[int], datetime]]:
    """(ids, ETA) for claimed (id, due at) rows: what is due already in chunks of
    ``ESCALATION_TASK_BATCH``; what falls due later grouped with whatever falls due
    within :data:`ETA_SPREAD` of it, the ETA being the last due time in the group
    (so no row runs before it is due)."""
    size = max(settings.ESCALATION_TASK_BATCH, 1)
    chunks: list[tuple[list[int], datetime]] = []
    ids: list[int] = []
    anchor = last = now
    for pk, due in sorted(rows, key=lambda row: (row[1], row[0])):
        due = max(due, now)
        if ids and (len(ids) >= size or due - anchor > ETA_SPREAD):
            chunks.append((ids, last))
            ids = []
        if not ids:
            anchor = due
        ids.append(pk)
        last = due
    if ids:
        chunks.append((ids, last))
    return chunks


def publish_due(name: str, rows: list[tuple[int, datetime]], *, now: datetime) -> int:
    """Publish ``name`` now for claimed (id, due at) rows, each task with a
    countdown to its due time (:func:`due_chunks`); returns the number of tasks."""
    chunks = due_chunks(rows, now=now)
    for ids, eta in chunks:
        publish(name, ids, countdown=(eta - now).total_seconds())
    return len(chunks)
