from __future__ import annotations

from django.contrib import admin

from alerts.models import (
    Incident,
    Integration,
    MaintenanceWindow,
    Route,
    RouteMatcher,
    WebhookDelivery,
)

admin.site.register(Integration)
admin.site.register(Route)
admin.site.register(RouteMatcher)
admin.site.register(Incident)
admin.site.register(WebhookDelivery)
admin.site.register(MaintenanceWindow)
