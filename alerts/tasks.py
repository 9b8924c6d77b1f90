"""Celery tasks: thin wrappers that load by id and call a service."""

from __future__ import annotations

import logging

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


@shared_task(name="alerts.tasks.escalation_advance", ignore_result=True)
def escalation_advance_task(incident_id: int) -> str:
    from alerts.escalation import escalation_advance, escalation_due_in

    result = escalation_advance(incident_id=incident_id)
    if result == "not due":
        wait = escalation_due_in(incident_id=incident_id)
        if wait is not None and 0 < wait <= EARLY_RETRY_LIMIT:
            escalation_advance_task.apply_async((incident_id,), countdown=wait)
    return result


@shared_task(name="alerts.tasks.page_send", ignore_result=True)
def page_send_task(page_id: int) -> str:
    from alerts.paging import page_due_in, page_send

    result = page_send(page_id=page_id)
    if result == "not due":
        wait = page_due_in(page_id=page_id)
        if wait is not None and 0 < wait <= EARLY_RETRY_LIMIT:
            page_send_task.apply_async((page_id,), countdown=wait)
    return result


@shared_task(name="alerts.tasks.bundle_send", ignore_result=True)
def bundle_send_task(bundle_id: int) -> str:
    from alerts.storm import bundle_send

    return bundle_send(bundle_id=bundle_id)
