from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """Last time a background process proved it was alive.

    Beat schedules ``beat_heartbeat`` and a worker runs it, so a fresh row means both
    beat and at least one worker are up.  ``/metrics`` exposes its age: a stalled
    Celery is the failure that silently stops every page.
    """

    name = models.CharField(max_length=64, unique=True)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"
