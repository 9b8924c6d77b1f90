"""After ``manage.py oncall_demo`` the demo organisation has the service
``payments-api`` of team ``payments`` with an incident-time SLO of 99.9 % over 30
days, already evaluated; running it again adds nothing (DESIGN.md §5)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command

from alerts.models import SLO, Service, SLOEvaluation
from alerts.slos.evaluate import service_incidents

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def debug_on(settings):
    settings.DEBUG = True  # the demo only runs with it on


def test_the_demo_has_payments_api_with_an_evaluated_slo():
    call_command("oncall_demo")
    service = Service.objects.get(slug="payments-api")
    assert service.team.slug == "payments"
    slo = SLO.objects.get(service=service)
    assert (slo.objective, slo.window, slo.source) == (
        Decimal("99.9"),
        "rolling_30d",
        "incident_time",
    )
    evaluation = SLOEvaluation.objects.get(slo=slo)
    assert evaluation.budget_seconds == pytest.approx(43.2 * 60)
    # The demo's incidents labelled service="payments-api" spent budget.
    assert service_incidents(service=service).exists()
    assert evaluation.bad_seconds > 0
    assert evaluation.budget_remaining < 1

    call_command("oncall_demo")
    assert Service.objects.count() == 1
    assert SLO.objects.count() == 1
    assert SLOEvaluation.objects.count() == 1
