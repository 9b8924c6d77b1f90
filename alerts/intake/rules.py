"""What a webhook does to alerts and incidents: the rules both processing paths
share (one delivery at a time in ``intake/process.py``, many at once in
``intake/batch.py``), so that they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.incidents.state import (
    IncidentSpec,
)
from alerts.intake.parse import AlertData, Payload
from alerts.models import (
    Alert,
    MaintenanceWindow,
    alert_display_name,
)
from alerts.routing import RouteChoice

# What a newer notification about a known alert updates (one and batch paths).
ALERT_UPDATE_FIELDS = [
    "labels",
    "annotations",
    "status",
    "starts_at",
    "ends_at",
    "generator_url",
    "last_received_at",
    "updated_at",
]


@dataclass
class AlertChange:
    alert: Alert
    before: str | None  # None: first time we see this fingerprint
    after: str


def alerts_dedupe(alerts: tuple[AlertData, ...]) -> list[AlertData]:
    """One entry per fingerprint (the last wins), in payload order."""
    by_fp: dict[str, AlertData] = {}
    for alert in alerts:
        by_fp[alert.fingerprint] = alert
    return list(by_fp.values())


def _title(payload: Payload) -> str:
    labels = payload.common_labels or payload.group_labels
    alertname = labels.get("alertname") or payload.group_labels.get("alertname")
    summary = payload.common_annotations.get(
        "summary"
    ) or payload.common_annotations.get("description", "")
    if not alertname:
        alertname = ", ".join(f"{k}={v}" for k, v in payload.group_labels.items())
    alertname = alertname or "alert"
    return f"{alertname}: {summary}" if summary else alertname


def incident_spec(
    payload: Payload,
    choice: RouteChoice,
    alert_labels: tuple[dict[str, str], ...] = (),
) -> IncidentSpec:
    """What an incident opened for this group records (one- and batch paths);
    ``alert_labels``: its firing alerts' (see ``firing_labels``)."""
    return IncidentSpec(
        group_key=payload.group_key,
        title=_title(payload),
        team_id=choice.team_id,
        route_id=choice.route_id,
        routing=choice.decision,
        urgency=choice.urgency,
        group_labels=payload.group_labels,
        common_labels=payload.common_labels,
        common_annotations=payload.common_annotations,
        external_url=payload.external_url,
        truncated_alerts=payload.truncated_alerts,
        alert_labels=alert_labels,
    )


def firing_labels(changes: list[AlertChange]) -> tuple[dict[str, str], ...]:
    """The labels of the alerts firing after these changes: what a group's
    burn-rate tier and urgency are read from (``alerts.routing``)."""
    return tuple(c.alert.labels for c in changes if c.after == Alert.Status.FIRING)


def alert_names(changes: list[AlertChange], limit: int = 10) -> str:
    names = [alert_display_name(c.alert.labels) for c in changes[:limit]]
    more = len(changes) - limit
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def maintenance_note(window: MaintenanceWindow | None) -> str:
    if window is None:
        return ""
    return (
        f"opened during maintenance window #{window.pk} ({window.reason}, until "
        f"{window.ends_at:%Y-%m-%d %H:%M} UTC): not escalated"
    )
