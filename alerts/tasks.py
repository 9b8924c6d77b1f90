"""Celery tasks: thin wrappers that load by id and call a service."""

from __future__ import annotations

import logging
from collections import Counter

from celery import shared_task

from alerts import deliveries, heartbeat, maintenance

logger = logging.getLogger(__name__)


@shared_task(name="alerts.tasks.process_delivery", ignore_result=True)
def process_delivery(delivery_id: int) -> str:
    try:
        return deliveries.delivery_process(delivery_id=delivery_id)
    except Exception as exc:
        # Recorded for the admin; the sweep tries again later (up to MAX_ATTEMPTS).
        deliveries.delivery_record_failure(
            delivery_id=delivery_id, error=f"{type(exc).__name__}: {exc}"
        )
        raise


@shared_task(name="alerts.tasks.sweep_deliveries", ignore_result=True)
def sweep_deliveries() -> int:
    return deliveries.deliveries_sweep()


@shared_task(name="alerts.tasks.check_heartbeats", ignore_result=True)
def check_heartbeats() -> int:
    return len(heartbeat.heartbeats_check())


@shared_task(name="alerts.tasks.sweep_maintenance", ignore_result=True)
def sweep_maintenance() -> int:
    return maintenance.maintenance_sweep()


@shared_task(name="alerts.tasks.prune_deliveries", ignore_result=True)
def prune_deliveries() -> int:
    return deliveries.deliveries_prune()


# --- escalation and paging: each task loads by id and calls one service ----------


@shared_task(name="alerts.tasks.escalation_sweep", ignore_result=True)
def escalation_sweep_task() -> dict[str, int]:
    from alerts.escalation import escalation_sweep

    return escalation_sweep()


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


def _put_back_early(task, waits: dict[int, float]) -> None:  # noqa: ANN001
    early = {pk: wait for pk, wait in waits.items() if 0 < wait <= EARLY_RETRY_LIMIT}
    if early:
        # The soonest decides: any not due yet by then put themselves back again.
        task.apply_async((sorted(early),), countdown=min(early.values()))


@shared_task(name="alerts.tasks.escalation_advance", ignore_result=True)
def escalation_advance_task(incident_ids: int | list[int]) -> str:
    from alerts.escalation import escalations_advance_and_send, escalations_due_in

    results, pages = escalations_advance_and_send(incident_ids=_ids(incident_ids))
    not_due = [pk for pk, result in results.items() if result == "not due"]
    if not_due:
        _put_back_early(
            escalation_advance_task, escalations_due_in(incident_ids=not_due)
        )
    return _summary(results) + (f"; pages: {_summary(pages)}" if pages else "")


@shared_task(name="alerts.tasks.page_send", ignore_result=True)
def page_send_task(page_ids: int | list[int]) -> str:
    from alerts.paging import pages_due_in, pages_send

    results = pages_send(page_ids=_ids(page_ids))
    not_due = [pk for pk, result in results.items() if result == "not due"]
    if not_due:
        _put_back_early(page_send_task, pages_due_in(page_ids=not_due))
    return _summary(results)


@shared_task(name="alerts.tasks.bundle_send", ignore_result=True)
def bundle_send_task(bundle_id: int) -> str:
    from alerts.storm import bundle_send

    return bundle_send(bundle_id=bundle_id)
