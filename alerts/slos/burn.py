"""Multi-window, multi-burn-rate alerts (the SRE workbook's form) for ratio SLIs.

A tier fires when both its long and its short window burn faster than its
factor: the long window proves the burn is real, the short one that it is still
going on (so the alert resolves minutes after the burn stops).

==========  ======  ===========  ============  ==========================
tier        factor  long window  short window  a 30-day budget gone in
==========  ======  ===========  ============  ==========================
page        14.4×   1 h          5 m           ~2 days (2 % used per hour)
page        6×      6 h          30 m          5 days (5 % per 6 hours)
ticket      3×      1 d          2 h           10 days
ticket      1×      3 d          6 h           30 days
==========  ======  ===========  ============  ==========================

*Page* opens a high-urgency incident (pages the on-call through the team's
escalation), *ticket* a low-urgency one; a ticket is not opened while the page
tier of the same SLO fires.  Both are opened through the same pipeline as
Alertmanager's incidents (routing, maintenance, escalation, paging) and
resolved when their tier stops firing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from alerts.incidents.state import IncidentSpec, incident_open, incident_resolve
from alerts.models import OPEN_STATUSES, SLO, Incident, Integration, hash_group_key
from alerts.routing import choose_route
from alerts.selectors import maintenance_active, route_rules

logger = logging.getLogger(__name__)

PAGE = "page"
TICKET = "ticket"


@dataclass(frozen=True)
class BurnRule:
    tier: str
    factor: float
    long: dt.timedelta
    short: dt.timedelta

    def firing(self, burns: dict[dt.timedelta, float]) -> bool:
        return burns[self.long] > self.factor and burns[self.short] > self.factor


RULES = (
    BurnRule(PAGE, 14.4, dt.timedelta(hours=1), dt.timedelta(minutes=5)),
    BurnRule(PAGE, 6, dt.timedelta(hours=6), dt.timedelta(minutes=30)),
    BurnRule(TICKET, 3, dt.timedelta(days=1), dt.timedelta(hours=2)),
    BurnRule(TICKET, 1, dt.timedelta(days=3), dt.timedelta(hours=6)),
)
WINDOWS = sorted({w for rule in RULES for w in (rule.long, rule.short)})


def firing_tiers(burns: dict[dt.timedelta, float]) -> set[str]:
    """The tiers whose rules fire; a ticket is left out while the page fires."""
    tiers = {rule.tier for rule in RULES if rule.firing(burns)}
    if PAGE in tiers:
        tiers.discard(TICKET)
    return tiers


def group_key(slo: SLO, tier: str) -> str:
    # Not an Alertmanager groupKey (those start with "{"): no collision.
    return f"oncall:slo-burn:{slo.pk}:{tier}"


def _integration(slo: SLO) -> Integration | None:
    service = slo.service
    if service.integration_id is not None:
        return service.integration
    return (
        Integration.objects.filter(team_id=service.team_id, enabled=True)
        .order_by("pk")
        .first()
    )


def _open_incident(integration: Integration, slo: SLO, tier: str) -> Incident | None:
    return Incident.objects.filter(
        integration=integration,
        group_key_hash=hash_group_key(group_key(slo, tier)),
        status__in=OPEN_STATUSES,
    ).first()


def burn_alerts_apply(
    *, slo: SLO, burns: dict[dt.timedelta, float], now: dt.datetime
) -> list[str]:
    """Open the incidents of the tiers that fire, resolve those that stopped;
    returns what it did ("opened page #12", ...).  Idempotent: an open incident of
    a tier is never opened twice (the one-open-per-group constraint)."""
    firing = firing_tiers(burns)
    integration = _integration(slo)
    if integration is None:
        if firing:
            logger.warning("SLO %s burns but its team has no integration", slo.pk)
        return []
    done = []
    for tier in (PAGE, TICKET):
        incident = _open_incident(integration, slo, tier)
        if tier in firing and incident is None:
            try:
                with transaction.atomic():
                    incident = _open(integration, slo, tier, burns, now)
            except IntegrityError:
                continue  # opened meanwhile by a concurrent evaluation
            done.append(f"opened {tier} #{incident.pk}")
        elif (
            tier not in firing
            and incident is not None
            and not (tier == TICKET and PAGE in firing)
        ):
            incident_resolve(
                incident=incident,
                how="burn stopped",
                text=f"the {tier} burn-rate alert of SLO {slo} stopped firing",
                at=now,
            )
            done.append(f"resolved {tier} #{incident.pk}")
    return done


def _describe(burns: dict[dt.timedelta, float]) -> str:
    def name(w: dt.timedelta) -> str:
        seconds = int(w.total_seconds())
        if seconds % 86400 == 0:
            return f"{seconds // 86400}d"
        if seconds % 3600 == 0:
            return f"{seconds // 3600}h"
        return f"{seconds // 60}m"

    return ", ".join(f"{name(w)} {burns[w]:.1f}×" for w in WINDOWS)


def _open(
    integration: Integration,
    slo: SLO,
    tier: str,
    burns: dict[dt.timedelta, float],
    now: dt.datetime,
) -> Incident:
    service = slo.service
    labels = {
        **service.match_labels,
        "alertname": "SLOErrorBudgetBurn",
        "slo": slo.name,
        "severity": tier,
    }
    labels.setdefault("service", service.slug)
    choice = choose_route(
        route_rules(integration_id=integration.pk),
        labels,
        default_team_id=service.team_id,
    )
    window = maintenance_active(
        integration_id=integration.pk, team_id=choice.team_id, at=now
    )
    speed = "fast" if tier == PAGE else "slow"
    title = (
        f"{service.slug}: SLO {slo.name} ({slo.objective}%) burning its error "
        f"budget too {speed} ({burns[dt.timedelta(hours=1)]:.1f}× over 1 h)"
    )
    spec = IncidentSpec(
        group_key=group_key(slo, tier),
        title=title[:500],
        team_id=choice.team_id,
        route_id=choice.route_id,
        routing=choice.decision,
        # The tier decides: a page wakes people, a ticket waits for the day.
        urgency=Incident.Urgency.HIGH if tier == PAGE else Incident.Urgency.LOW,
        group_labels={"alertname": "SLOErrorBudgetBurn", "slo": slo.name},
        common_labels=labels,
        common_annotations={"burn_rates": _describe(burns)},
        source=Incident.Source.SLO_BURN,
    )
    incident = incident_open(
        integration=integration,
        spec=spec,
        in_maintenance=window is not None,
        opened_text=f"opened by the {tier} burn-rate alert: {_describe(burns)}",
        at=now,
    )
    logger.warning("SLO %s: %s burn-rate incident #%s", slo.pk, tier, incident.pk)
    return incident
