"""Alertmanager webhook bodies for many groups, shaped exactly like recorded ones.

The recorded ``b_group_of_three_firing`` body (a real Alertmanager 0.25) is the
template: only the labels change, and with them what Alertmanager derives from
labels (fingerprints, groupKey, groupLabels, commonLabels).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from alerts.intake.parse import am_fingerprint

RAW = Path(__file__).resolve().parents[1] / "fixtures" / "alertmanager" / "raw"
TEMPLATE = json.loads((RAW / "b_group_of_three_firing.body").read_text())


def group_body(
    alertname: str,
    instances: int,
    *,
    service: str = "payments",
    severity: str = "critical",
) -> bytes:
    """One group (``alertname`` + ``service``) with ``instances`` firing alerts."""
    body = copy.deepcopy(TEMPLATE)
    template_alert = body["alerts"][0]
    alerts = []
    for n in range(instances):
        alert = copy.deepcopy(template_alert)
        alert["labels"] = {
            "alertname": alertname,
            "instance": f"{service}-{n + 1}",
            "service": service,
            "severity": severity,
        }
        alert["annotations"] = {"summary": f"{alertname} on {service}-{n + 1}"}
        alert["fingerprint"] = am_fingerprint(alert["labels"])
        alerts.append(alert)
    body["alerts"] = alerts
    body["groupLabels"] = {"alertname": alertname, "service": service}
    body["commonLabels"] = {
        "alertname": alertname,
        "service": service,
        "severity": severity,
    }
    body["commonAnnotations"] = {}
    body["groupKey"] = f'{{}}:{{alertname="{alertname}", service="{service}"}}'
    return (json.dumps(body, separators=(",", ":")) + "\n").encode()
