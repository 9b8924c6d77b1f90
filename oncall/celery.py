"""The Celery application.

Configuration comes from Django settings (``CELERY_*``).  The beat schedule is
defined here, in code: each periodic task is a short sweep that decides from the
database what is due, so a lost or duplicated beat tick changes nothing.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections, transaction

from oncall.env import env_int

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")

logger = logging.getLogger(__name__)

app = Celery("oncall")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Read by Celery's Django fixup only (so not a CELERY_ Django setting, which must be a
# setting Celery itself knows): keep database connections across tasks instead of
# closing them around every one; _recycle_db_connections below decides instead.
app.conf["CELERY_DB_REUSE_MAX"] = 1000


@task_prerun.connect
@task_postrun.connect
def _recycle_db_connections(**kwargs: Any) -> None:
    """Apply Django's connection rules around each task, as around a web request.

    Celery's Django fixup closes the database connection before and after every
    task unless ``CELERY_DB_REUSE_MAX`` is set (it is, above): on PostgreSQL
    that is a new backend process and a SCRAM handshake per task, several times
    the cost of the task itself.  Instead, like a request, drop a connection only
    when it is past ``CONN_MAX_AGE`` or saw an error, and let the health check
    (``CONN_HEALTH_CHECKS``) test it before its next use, so a restarted database
    costs one reconnect, not a failed task.
    """
    close_old_connections()


BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "beat-heartbeat": {"task": "oncall.tasks.beat_heartbeat", "schedule": 30.0},
    # Webhooks stored while the broker was down (or whose worker died) get processed.
    "alerts-sweep-deliveries": {
        "task": "alerts.tasks.sweep_deliveries",
        "schedule": float(env_int("DELIVERY_SWEEP_SECONDS", 30)),
    },
    # Dead man's switch: a missing Alertmanager heartbeat opens an incident.
    "alerts-check-heartbeats": {
        "task": "alerts.tasks.check_heartbeats",
        "schedule": 60.0,
    },
    # Incidents opened in maintenance start escalating when the window ends.
    "alerts-sweep-maintenance": {
        "task": "alerts.tasks.sweep_maintenance",
        "schedule": 30.0,
    },
    # Escalation: the database says what is due (steps, pages, storm bundles); this
    # short sweep enqueues it.  No long countdowns anywhere.
    "alerts-escalation-sweep": {
        "task": "alerts.tasks.escalation_sweep",
        "schedule": float(env_int("ESCALATION_SWEEP_SECONDS", 5)),
    },
    # SLOs: budgets and burn rates stored for the deploy gate (alerts/slos/).
    "alerts-evaluate-slos": {
        "task": "alerts.tasks.evaluate_slos",
        "schedule": float(env_int("SLO_EVALUATION_SECONDS", 60)),
    },
    "alerts-prune-deliveries": {
        "task": "alerts.tasks.prune_deliveries",
        "schedule": 3600.0,
    },
    # Handoff notes: drafted at each shift change that passed (idempotent: one per
    # boundary and role), auto-submitted, reminded.  A minute late is fine.
    "alerts-handoff-sweep": {
        "task": "alerts.tasks.handoff_sweep",
        "schedule": 60.0,
    },
    # Owners of postmortem action items that went overdue are told, once each.
    "alerts-remind-overdue-action-items": {
        "task": "alerts.tasks.remind_overdue_action_items",
        "schedule": 3600.0,
    },
    # Extends every rotation's materialized shifts to the horizon.  Hourly is plenty
    # (the horizon is weeks); rotation changes materialize at once anyway.
    "materialize-shifts": {
        "task": "scheduling.tasks.materialize_shifts",
        "schedule": 3600.0,
    },
    # Short-notice schedule changes not told yet (their publish was lost).
    "alerts-send-shift-notices": {
        "task": "alerts.tasks.send_shift_notices",
        "schedule": 60.0,
    },
    # Members' out-of-office (PTO) calendars become their unavailability.
    "fetch-out-of-office-calendars": {
        "task": "scheduling.tasks.fetch_out_of_office_calendars",
        "schedule": float(env_int("OOO_FETCH_INTERVAL_SECONDS", 900)),
    },
}
app.conf.beat_schedule = BEAT_SCHEDULE


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Publish ``task`` once the current transaction commits, never raising.

    If the broker is unreachable the error is logged and swallowed: whatever the task
    would have processed is already in the database, and a periodic sweep enqueues it
    again.  Raising here would turn a stored, accepted request into a 500.
    """

    def publish() -> None:
        try:
            task.apply_async(args=args, kwargs=kwargs)
        except Exception:  # broker down: the sweep will catch up
            logger.warning("could not enqueue %s; the sweep will retry", task.name)

    transaction.on_commit(publish)
