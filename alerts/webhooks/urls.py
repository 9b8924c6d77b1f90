"""The Alertmanager webhook URLs (DESIGN.md §5), mounted under ``/api/v1/``."""

from __future__ import annotations

from django.urls import path

from alerts.webhooks import alertmanager

urlpatterns = [
    path(
        "alertmanager/",
        alertmanager.alertmanager_webhook,
        name="alertmanager-webhook",
    ),
    path(
        "alertmanager/<str:token>/",
        alertmanager.alertmanager_webhook,
        name="alertmanager-webhook-token",
    ),
]
