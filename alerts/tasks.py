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
