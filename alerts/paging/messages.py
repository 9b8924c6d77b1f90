"""What a page says: the SMS text, the words spoken on a call, a bundle's SMS."""

from __future__ import annotations

from collections.abc import Set

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


def _bundle_parts(incidents: list[Incident], repeats: set[int]) -> list[str]:
    """["2 new incidents: #41 A, #42 B", "1 repeat: #7 C"], the empty ones left out."""
    new = [i for i in incidents if i.pk not in repeats]
    again = [i for i in incidents if i.pk in repeats]
    parts = []
    if new:
        noun = "incident" if len(new) == 1 else "incidents"
        listed = ", ".join(f"#{i.pk} {incident_alertname(i)}" for i in new)
        parts.append(f"{len(new)} new {noun}: {listed}")
    if again:
        noun = "repeat" if len(again) == 1 else "repeats"
        listed = ", ".join(f"#{i.pk} {incident_alertname(i)}" for i in again)
        parts.append(f"{len(again)} {noun}: {listed}")
    return parts


def bundle_sms_body(
    incidents: list[Incident], *, repeats: Set[int] = frozenset()
) -> str:
    """'oncall: 2 new incidents: #41 A, #42 B; 1 repeat: #7 C - reply ACK ALL'.

    ``repeats``: the incidents the member was already paged for (not "new")."""
    head = "oncall: " + "; ".join(_bundle_parts(incidents, set(repeats)))
    return fit(head, " - reply ACK ALL")


def bundle_voice_text(incidents: list[Incident], *, repeats: set[int]) -> str:
    """The words of a storm's bundle call: how many, which, new or repeats."""
    count = len(incidents)
    new = count - len(repeats & {i.pk for i in incidents})
    text = (
        f"This is on call. {count} "
        f"{'incident needs' if count == 1 else 'incidents need'} you"
    )
    if new != count:
        text += f": {new} new, {count - new} already paged before"
    listed = ". ".join(
        f"Incident {i.pk}, {incident_alertname(i)}" for i in incidents[:10]
    )
    text += f". {listed}."
    if count > 10:
        text += f" And {count - 10} more."
    return text
