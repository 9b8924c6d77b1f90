"""The SLO admin lists each SLO with its budget left at the latest evaluation."""

from __future__ import annotations

import pytest

from alerts.slos.evaluate import slo_evaluate
from alerts.slos.setup import slo_create

pytestmark = pytest.mark.django_db


def test_the_slo_list_shows_budget_left_or_not_evaluated(admin_client, slo, service):
    slo_create(service=service, name="latency", objective="99")
    slo_evaluate(slo=slo)
    page = admin_client.get("/admin/alerts/slo/").content.decode()
    assert "100.0%" in page  # availability: untouched
    assert "not evaluated" in page  # latency


def test_services_and_deploys_list(admin_client, service):
    assert admin_client.get("/admin/alerts/service/").status_code == 200
    assert admin_client.get("/admin/alerts/deploy/").status_code == 200
    assert admin_client.get("/admin/alerts/deploy/add/").status_code == 403
