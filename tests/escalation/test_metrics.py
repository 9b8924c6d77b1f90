"""/metrics reports escalation health: overdue steps and pages not sent yet."""

from __future__ import annotations

import re

from tests.escalation.conftest import drive, open_incident


def gauge(body: str, name: str) -> float:
    match = re.search(rf"^{name} ([0-9.e+-]+)$", body, re.M)
    assert match, f"{name} missing"
    return float(match.group(1))


def test_an_overdue_step_and_pending_pages_show_in_metrics(
    client, integration, policy, alice
):
    open_incident(integration)
    body = client.get("/metrics").content.decode()
    assert gauge(body, "oncall_escalation_overdue_seconds") >= 0
    assert 'oncall_pages_pending{status="queued"} 0.0' in body
    from alerts.escalation.engine import escalations_advance
    from alerts.models import Escalation

    escalations_advance(incident_ids=[Escalation.objects.get().pk])
    body = client.get("/metrics").content.decode()
    assert 'oncall_pages_pending{status="queued"} 1.0' in body
    drive()
    body = client.get("/metrics").content.decode()
    assert 'oncall_pages_pending{status="queued"} 0.0' in body
    assert gauge(body, "oncall_escalation_overdue_seconds") == 0
