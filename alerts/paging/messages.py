"""What a page says: the SMS text, the words spoken on a call, a bundle's SMS."""

from __future__ import annotations

from alerts.models import Incident
from alerts.paging.segments import fit

CHANNEL_WORD = {"sms": "SMS", "voice": "call"}


SEVERITY_TAGS = {
    "critical": "CRIT",
    "page": "CRIT",
    "error": "ERR",
    "warning": "WARN",
    "info": "INFO",
}


def incident_severity(incident: Incident) -> str:
    labels = incident.common_labels or incident.group_labels or {}
    severity = str(labels.get("severity", "")).lower()
    if severity in SEVERITY_TAGS:
        return SEVERITY_TAGS[severity]
    if severity:
        return severity[:4].upper()
    return "HIGH" if incident.urgency == Incident.Urgency.HIGH else "LOW"


def incident_alertname(incident: Incident) -> str:
    for labels in (incident.common_labels, incident.group_labels):
        if labels and labels.get("alertname"):
            return str(labels["alertname"])
    return incident.title.split(":", 1)[0]


def incident_summary(incident: Incident) -> str:
    annotations = incident.common_annotations or {}
    return str(annotations.get("summary") or annotations.get("description") or "")


def page_sms_body(incident: Incident) -> str:
    """'oncall #42 [CRIT] HighErrorRate payments: <summary> - reply ACK 42, ...',
    within its segment budget (one GSM-7 segment, or two UCS-2 ones for text
    that needs UCS-2: ``segments.py``): the summary is cut, never the way to
    answer."""
    number = incident.pk
    head = (
        f"oncall #{number} [{incident_severity(incident)}] "
        f"{incident_alertname(incident)} {incident.team.slug}"
    )
    summary = incident_summary(incident)
    if summary:
        head += f": {summary}"
    return fit(head, f" - reply ACK {number}, RES {number}, ESC {number}")


def page_voice_text(incident: Incident) -> str:
    severity = {
        "CRIT": "critical",
        "ERR": "error",
        "WARN": "warning",
        "HIGH": "high urgency",
        "LOW": "low urgency",
    }.get(incident_severity(incident), incident_severity(incident).lower())
    text = (
        f"This is on call. Incident {incident.pk}, {severity}: "
        f"{incident_alertname(incident)}, for team {incident.team.name}."
    )
    summary = incident_summary(incident)
    if summary:
        text += f" {summary}."
    return text


def bundle_sms_body(incidents: list[Incident]) -> str:
    count = len(incidents)
    listed = ", ".join(f"#{i.pk} {incident_alertname(i)}" for i in incidents)
    noun = "incident" if count == 1 else "incidents"
    return fit(f"oncall: {count} new {noun}: {listed}", " - reply ACK ALL")
