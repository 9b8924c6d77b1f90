"""Creating services and SLOs (the demo, tests and the admin's validation)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from alerts.models import SLO, Service
from scheduling.models import Team


@transaction.atomic
def service_create(
    *, slug: str, name: str, team: Team, match_labels: dict[str, str]
) -> Service:
    service = Service(slug=slug, name=name, team=team, match_labels=match_labels)
    service.full_clean()
    service.save()
    return service


@transaction.atomic
def slo_create(
    *, service: Service, name: str, objective: Decimal | str, **fields: Any
) -> SLO:
    """An SLO of ``service``; ``fields`` are the model's (window, source, policy)."""
    slo = SLO(service=service, name=name, objective=Decimal(objective), **fields)
    slo.full_clean()
    slo.save()
    return slo


SERVICE_FIELDS = ("slug", "name", "team", "match_labels")
SLO_FIELDS = (
    "service",
    "name",
    "objective",
    "window",
    "source",
    "incident_urgency",
    "good_query",
    "total_query",
    "allow_above",
    "freeze_below",
    "limited_deploys_per_day",
)


@transaction.atomic
def service_update(*, service: Service, **fields: Any) -> Service:
    """Change ``fields`` (of :data:`SERVICE_FIELDS`) of ``service``."""
    for key, value in fields.items():
        if key not in SERVICE_FIELDS:
            raise ValueError(f"not a service field: {key}")
        setattr(service, key, value)
    service.full_clean()
    service.save()
    return service


@transaction.atomic
def service_delete(*, service: Service) -> None:
    """Delete ``service`` with its SLOs, their evaluations and its deploys."""
    service.delete()


@transaction.atomic
def slo_update(*, slo: SLO, **fields: Any) -> SLO:
    """Change ``fields`` (of :data:`SLO_FIELDS`) of ``slo``; the next evaluation
    (every minute) reckons with them."""
    for key, value in fields.items():
        if key not in SLO_FIELDS:
            raise ValueError(f"not an SLO field: {key}")
        setattr(slo, key, Decimal(value) if key == "objective" else value)
    slo.full_clean()
    slo.save()
    return slo


@transaction.atomic
def slo_delete(*, slo: SLO) -> None:
    slo.delete()
