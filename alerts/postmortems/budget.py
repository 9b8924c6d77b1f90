"""The error budget a postmortem's incidents consumed, for its impact section.

For every SLO of a service the incidents belong to (their common labels carry
all the service's ``match_labels``, as in ``alerts.slos``), the bad time is the
part of the linked incidents' open time that falls in the SLO's window as it
stood when the last of them was resolved (overlapping incidents count once),
against the budget the objective allows over that window.  The arithmetic is
``alerts.slos.budget``'s.  Only incident-time SLIs can be answered this way; a
Prometheus ratio SLO is listed with a pointer to its own evaluation.

Computed when read, never stored: linking or unlinking an incident changes it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from alerts.models import SLO, Incident, Postmortem, Service
from alerts.slos.budget import budget_seconds, covered_seconds, window_at


@dataclass(frozen=True)
class BudgetConsumed:
    service: str
    slo: str
    objective: Decimal
    window: str  # SLO.Window value
    window_start: dt.datetime
    window_end: dt.datetime
    budget_seconds: float
    consumed_seconds: float | None  # None: not an incident-time SLI
    counted_incidents: int

    @property
    def fraction(self) -> float | None:
        """Consumed over budget: 0.5 is half of it, above 1 overspent."""
        if self.consumed_seconds is None or self.budget_seconds <= 0:
            return None
        return self.consumed_seconds / self.budget_seconds


def _of_service(service: Service, incident: Incident) -> bool:
    labels = incident.common_labels or {}
    return bool(service.match_labels) and all(
        labels.get(k) == v for k, v in service.match_labels.items()
    )


def postmortem_budget(*, postmortem: Postmortem) -> list[BudgetConsumed]:
    """One line per SLO of the services the postmortem's incidents belong to."""
    incidents = list(postmortem.incidents.all()) or [postmortem.incident]
    found: list[BudgetConsumed] = []
    services = Service.objects.select_related("team").prefetch_related("slos")
    for service in services:
        mine = [i for i in incidents if _of_service(service, i)]
        if not mine:
            continue
        for slo in service.slos.all():
            counted = [
                i
                for i in mine
                if slo.incident_urgency == SLO.Urgency.ANY
                or i.urgency == Incident.Urgency.HIGH
            ]
            end = max(i.resolved_at or postmortem.ended_at for i in mine)
            window = window_at(slo.window, end, service.team.time_zone)
            consumed = None
            if slo.source == SLO.Source.INCIDENT_TIME:
                consumed = covered_seconds(
                    [(i.opened_at, i.resolved_at or end) for i in counted],
                    window.start,
                    window.end,
                )
            found.append(
                BudgetConsumed(
                    service=service.slug,
                    slo=slo.name,
                    objective=slo.objective,
                    window=slo.window,
                    window_start=window.start,
                    window_end=window.end,
                    budget_seconds=budget_seconds(slo.objective, window.length),
                    consumed_seconds=consumed,
                    counted_incidents=len(counted),
                )
            )
    return found


def budget_line(item: BudgetConsumed) -> str:
    """``payments-api · availability (99.9 %, rolling 30 days): 80.0 of 43.2
    minutes of error budget consumed (185.2 %)``."""
    objective = f"{item.objective.normalize():f}"
    window = SLO.Window(item.window).label
    head = f"{item.service} · {item.slo} ({objective} %, {window})"
    if item.consumed_seconds is None:
        return (
            f"{head}: a Prometheus ratio SLI, not counted from incident time; "
            "see the SLO's evaluation"
        )
    fraction = item.fraction
    share = f" ({fraction * 100:.1f} %)" if fraction is not None else ""
    return (
        f"{head}: {item.consumed_seconds / 60:.1f} of "
        f"{item.budget_seconds / 60:.1f} minutes of error budget consumed{share}"
    )
