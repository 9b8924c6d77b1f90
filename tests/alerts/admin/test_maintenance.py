"""The admin of maintenance windows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import MaintenanceWindow

pytestmark = pytest.mark.django_db


def test_maintenance_windows_record_who_made_them(admin_client, team):
    now = timezone.now()
    response = admin_client.post(
        "/admin/alerts/maintenancewindow/add/",
        {
            "team": team.pk,
            "starts_at_0": now.strftime("%Y-%m-%d"),
            "starts_at_1": now.strftime("%H:%M:%S"),
            "ends_at_0": (now + timedelta(hours=2)).strftime("%Y-%m-%d"),
            "ends_at_1": (now + timedelta(hours=2)).strftime("%H:%M:%S"),
            "reason": "kernel upgrade",
        },
    )
    assert response.status_code == 302, response.content
    window = MaintenanceWindow.objects.get()
    assert window.created_by.username == "admin"
    assert (
        "kernel upgrade"
        in admin_client.get("/admin/alerts/maintenancewindow/").content.decode()
    )
