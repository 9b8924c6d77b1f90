from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from oncall.models import Heartbeat


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    """Read-only: heartbeats are written by beat and the workers.  (Adding one by
    hand had no value to type and failed with an IntegrityError, a 500.)"""

    list_display = ["name", "last_seen"]
    readonly_fields = ["name", "last_seen"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
