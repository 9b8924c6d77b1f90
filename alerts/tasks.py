"""Celery tasks: an interface, like the views.  Each loads by id and calls a service.

The task names are contracts (messages already in the broker carry them, and the
services publish them through ``alerts.queue``): they never change.  Two tasks
orchestrate more than one service, and this is where that is written down:

* ``escalation_advance`` fires due steps (``escalation.engine``) and then, once that
  committed, sends the pages due at once (``paging.send``) in the same task: no
  broker round trip between a step firing and its SMS;
* ``escalation_sweep`` claims what is due, steps (``escalation.claims``), pages
  (``paging.claims``) and storm bundles (``paging.bundles``), and publishes tasks
  for it.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from celery import Task, shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alerts import queue
from alerts.escalation.claims import escalations_claim, escalations_due_in
from alerts.escalation.engine import escalations_advance, escalations_fire
from alerts.handoff.actions import handoffs_auto_submit, handoffs_remind
from alerts.handoff.draft import handoffs_draft_due
from alerts.handoff.notify import handoff_notify, handoffs_notify_pending
from alerts.importers.runs import import_run_execute
from alerts.incidents.maintenance import maintenance_sweep
from alerts.intake.deadman import deadman_check
from alerts.intake.drain import delivery_process
from alerts.intake.inbox import deliveries_prune, deliveries_sweep
from alerts.intake.process import delivery_record_failure
from alerts.intake.unprocessable import deliveries_page_unprocessable
from alerts.paging.bundles import bundle_send, bundles_gather_and_claim
from alerts.paging.claims import pages_claim
from alerts.paging.send import pages_due_in, pages_send
from alerts.paging.shift_notices import shift_notices_send
from alerts.postmortems.items import action_items_remind_overdue
from alerts.slos.evaluate import slos_evaluate

logger = logging.getLogger(__name__)


@shared_task(name=queue.PROCESS_DELIVERY, ignore_result=True)
def process_delivery(delivery_id: int) -> str:
    try:
        return delivery_process(delivery_id=delivery_id)
    except Exception as exc:
        # Recorded for the admin; the sweep tries again later (up to MAX_ATTEMPTS).
        delivery_record_failure(
            delivery_id=delivery_id, error=f"{type(exc).__name__}: {exc}"
        )
        raise


@shared_task(name="alerts.tasks.sweep_deliveries", ignore_result=True)
def sweep_deliveries() -> int:
    """Re-publish what nobody processed, then page about what never will be."""
    count = deliveries_sweep()
    deliveries_page_unprocessable()
    return count


@shared_task(name="alerts.tasks.check_heartbeats", ignore_result=True)
def check_heartbeats() -> int:
    """The dead man's switch (``intake.deadman``); the task keeps its old name."""
    return len(deadman_check())


@shared_task(name="alerts.tasks.sweep_maintenance", ignore_result=True)
def sweep_maintenance() -> int:
    return maintenance_sweep()


@shared_task(name="alerts.tasks.send_shift_notices", ignore_result=True)
def send_shift_notices() -> dict[str, int]:
    """SMS the members whose on-call time a short-notice change moved.

    Published by name by ``scheduling.notices`` once a change commits, and run
    periodically for any publish that was lost.  Idempotent: each notice is
    claimed once."""
    return shift_notices_send(now=timezone.now())


@shared_task(name="alerts.tasks.prune_deliveries", ignore_result=True)
def prune_deliveries() -> int:
    return deliveries_prune()


# --- escalation and paging -------------------------------------------------------


@shared_task(name="alerts.tasks.escalation_sweep", ignore_result=True)
def due_work_sweep() -> dict[str, int]:
    """The periodic sweep (its task name is older than what it does: steps, pages
    and bundles)."""
    return due_work_publish()


def due_work_publish(*, now: datetime | None = None) -> dict[str, int]:
    """The sweep's body: publish what is due (steps, pages, bundles), and what falls
    due before the next sweep with a countdown to its due time.  Rows due together
    go out together, in tasks of up to ``ESCALATION_TASK_BATCH`` ids."""
    now = now or timezone.now()
    ahead = timedelta(seconds=settings.ESCALATION_SWEEP_SECONDS)
    limit = settings.ESCALATION_SWEEP_BATCH
    steps = escalations_claim(now=now, limit=limit, ahead=ahead)
    tasks = queue.publish_due(queue.ESCALATION_ADVANCE, steps, now=now)
    pages = pages_claim(now=now, limit=limit, ahead=ahead)
    tasks += queue.publish_due(queue.PAGE_SEND, pages, now=now)
    bundles = bundles_gather_and_claim(now=now, limit=limit)
    for bundle_id in bundles:
        queue.publish(queue.BUNDLE_SEND, bundle_id)
    tasks += len(bundles)
    return {
        "steps": len(steps),
        "pages": len(pages),
        "bundles": len(bundles),
        "tasks": tasks,
    }


# A task run a moment before its due time (clock skew between hosts) puts itself
# back for the remaining seconds rather than waiting for the sweep's lease to
# expire; never more than a minute (no long countdowns: see DESIGN.md).
EARLY_RETRY_LIMIT = 60


def _ids(value: int | list[int]) -> list[int]:
    """Tasks carry a list of ids; a message published before they did (one id)
    is still in the broker during an upgrade, and must work too."""
    if isinstance(value, int):
        return [value]
    return [int(pk) for pk in value]


def _summary(results: dict[int, str]) -> str:
    # "fired 2 step(s), ..." -> "fired"; "retry: Twilio ..." -> "retry".
    counts = Counter(
        "fired" if r.startswith("fired") else r.split(":", 1)[0]
        for r in results.values()
    )
    return ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))


def _put_back_early(task: Task, waits: dict[int, float]) -> None:
    early = {pk: wait for pk, wait in waits.items() if 0 < wait <= EARLY_RETRY_LIMIT}
    if early:
        # The soonest decides: any not due yet by then put themselves back again.
        task.apply_async((sorted(early),), countdown=min(early.values()))


def escalations_advance_and_send(
    *, incident_ids: list[int], now: datetime | None = None
) -> tuple[dict[int, str], dict[int, str]]:
    """What the escalation task runs: fire the due steps, then, once that
    committed, send the pages due at once in this same task rather than in
    another one published for them (no broker round trip and no second task
    between a step firing and its SMS).  A worker lost in between leaves them
    ``queued`` and due: the sweep sends them within one interval, as when a
    published task is lost.

    Returns what happened to each incident, and to each page sent.
    """
    if transaction.get_connection().in_atomic_block:
        # Inside someone's transaction nothing is committed yet: publish instead.
        return escalations_advance(incident_ids=incident_ids, now=now), {}
    results, to_send = escalations_fire(incident_ids=incident_ids, now=now)
    # The incidents just read are handed on: the send does not build them again.
    return results, pages_send(
        page_ids=[page.pk for page in to_send],
        incidents={page.incident_id: page.incident for page in to_send},
    )


@shared_task(name=queue.ESCALATION_ADVANCE, ignore_result=True)
def escalation_advance_task(incident_ids: int | list[int]) -> str:
    results, pages = escalations_advance_and_send(incident_ids=_ids(incident_ids))
    not_due = [pk for pk, result in results.items() if result == "not due"]
    if not_due:
        _put_back_early(
            escalation_advance_task, escalations_due_in(incident_ids=not_due)
        )
    return _summary(results) + (f"; pages: {_summary(pages)}" if pages else "")


@shared_task(name=queue.PAGE_SEND, ignore_result=True)
def page_send_task(page_ids: int | list[int]) -> str:
    results = pages_send(page_ids=_ids(page_ids))
    not_due = [pk for pk, result in results.items() if result == "not due"]
    if not_due:
        _put_back_early(page_send_task, pages_due_in(page_ids=not_due))
    return _summary(results)


@shared_task(name=queue.BUNDLE_SEND, ignore_result=True)
def bundle_send_task(bundle_id: int) -> str:
    return bundle_send(bundle_id=bundle_id)


# --- handoff notes -----------------------------------------------------------------


@shared_task(name="alerts.tasks.handoff_sweep", ignore_result=True)
def handoff_sweep() -> dict[str, int]:
    """Draft the notes of shift changes that passed (one per boundary and role,
    however often or late this runs), submit forgotten drafts as drafted, remind
    about unacknowledged notes, and catch up on notifications never sent."""
    now = timezone.now()
    drafted = handoffs_draft_due(now=now)
    submitted = handoffs_auto_submit(now=now)
    reminded = handoffs_remind(now=now)
    return {
        "drafted": len(drafted),
        "auto_submitted": len(submitted),
        "reminded": len(reminded),
        "notified": handoffs_notify_pending(now=now),
    }


@shared_task(name=queue.HANDOFF_NOTIFY, ignore_result=True)
def handoff_notify_task(note_id: int) -> list[str]:
    return handoff_notify(note_id=note_id, now=timezone.now())


# --- postmortems -------------------------------------------------------------------


@shared_task(name="alerts.tasks.remind_overdue_action_items", ignore_result=True)
def remind_overdue_action_items() -> int:
    """Each owner told once per action item that went overdue (idempotent)."""
    return len(action_items_remind_overdue(now=timezone.now()))


@shared_task(name="alerts.tasks.evaluate_slos", ignore_result=True)
def evaluate_slos() -> int:
    """Every SLO's budget and burn rates, stored for the deploy gate."""
    return slos_evaluate(now=timezone.now())


@shared_task(name=queue.IMPORT_RUN, ignore_result=True)
def import_run_task(run_id: int, sealed_token: str) -> str:
    """An import started from the admin; the token arrives sealed and is not
    kept (``alerts/importers/token_seal.py``)."""
    return import_run_execute(run_id=run_id, sealed_token=sealed_token)
