"""The demo's service: ``payments-api``, owned by ``payments``, with an
incident-time SLO of 99.9 % over a rolling 30 days (DESIGN.md §5), evaluated
once so its budget shows at once.  Creates what is missing, never changes what
exists."""

from __future__ import annotations

from datetime import datetime

from alerts.models import SLO, Service
from alerts.slos.evaluate import slo_evaluate
from alerts.slos.setup import service_create, slo_create
from scheduling.models import Team

DEMO_SERVICE = "payments-api"
DEMO_SLO = "availability"


def demo_slos_load(*, team: Team, now: datetime | None = None) -> list[str]:
    created: list[str] = []
    service = Service.objects.filter(slug=DEMO_SERVICE).first()
    if service is None:
        service = service_create(
            slug=DEMO_SERVICE,
            name="Payments API",
            team=team,
            match_labels={"service": DEMO_SERVICE},
        )
        created.append(f"service {service.slug}")
    slo = SLO.objects.filter(service=service, name=DEMO_SLO).first()
    if slo is None:
        slo = slo_create(
            service=service,
            name=DEMO_SLO,
            objective="99.9",
            window=SLO.Window.ROLLING_30D,
            source=SLO.Source.INCIDENT_TIME,
        )
        created.append(f"SLO {slo}")
    if not slo.evaluations.exists():
        slo_evaluate(slo=slo, now=now)
    return created
