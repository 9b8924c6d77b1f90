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
