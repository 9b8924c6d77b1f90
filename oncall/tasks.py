from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from oncall.models import Heartbeat


@shared_task(name="oncall.tasks.beat_heartbeat")
def beat_heartbeat() -> None:
    Heartbeat.objects.update_or_create(
        name="beat", defaults={"last_seen": timezone.now()}
    )


@shared_task(name="oncall.tasks.ping")
def ping(value: str) -> str:
    """Echo: lets tests and operators prove a worker consumes from the broker."""
    return f"pong:{value}"
