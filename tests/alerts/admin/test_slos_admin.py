"""The SLO admin lists each SLO with its budget left at the latest evaluation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from alerts.slos.burndown import slo_burndown
from alerts.slos.evaluate import slo_evaluate
from alerts.slos.setup import service_create, slo_create
from tests.alerts.slos.conftest import service_incident

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


def test_the_slo_page_draws_the_burn_down_and_names_the_incidents_that_spent_it(
    admin_client, slo, service, integration
):
    now = timezone.now()
    # 21.6 of 43.2 minutes: half the budget, ten days ago.
    spent = service_incident(
        integration,
        now - dt.timedelta(days=10),
        now - dt.timedelta(days=10, minutes=-21.6),
    )
    # A low-urgency incident does not count against a high-urgency SLO.
    ignored = service_incident(
        integration,
        now - dt.timedelta(days=3),
        now - dt.timedelta(days=2),
        urgency="low",
    )
    slo_evaluate(slo=slo, now=now)
    page = admin_client.get(f"/admin/alerts/slo/{slo.pk}/change/").content.decode()
    assert "<svg" in page and "Error budget left" in page
    assert (
        "<script"
        not in page.split('<div class="oncall-burndown">', 1)[1].split("</div>", 1)[0]
    )
    assert f"#{spent.pk} " in page
    assert f"#{ignored.pk} " not in page
    assert "50 %" in page  # its share of the budget, and the budget left
    assert "limited" in page  # the policy decision at 50 % left


def test_the_burn_down_steps_down_when_the_incident_happened(slo, integration):
    now = timezone.now()
    service_incident(
        integration,
        now - dt.timedelta(days=10),
        now - dt.timedelta(days=10, minutes=-21.6),
    )
    burndown = slo_burndown(slo=slo, now=now, steps=30)
    before = [v for t, v in burndown.points if t < now - dt.timedelta(days=10)]
    after = [v for t, v in burndown.points if t > now - dt.timedelta(days=9, hours=23)]
    assert set(before) == {1.0}
    assert after and all(v == pytest.approx(0.5) for v in after)
    assert [u.share for u in burndown.incidents] == [pytest.approx(0.5)]


def test_the_services_overview_lists_the_least_budget_left_first(
    admin_client, slo, service, team, integration
):
    calm = service_create(
        slug="calm-api", name="Calm", team=team, match_labels={"service": "calm-api"}
    )
    slo_evaluate(slo=slo_create(service=calm, name="availability", objective="99.9"))
    service_incident(
        integration,
        timezone.now() - dt.timedelta(days=1),
        timezone.now() - dt.timedelta(days=1, minutes=-30),
    )
    slo_evaluate(slo=slo)
    never = service_create(
        slug="aaa-new", name="New", team=team, match_labels={"service": "new"}
    )
    page = admin_client.get("/admin/alerts/service/").content.decode()
    order = [page.index(s) for s in (service.slug, calm.slug, never.slug)]
    assert order == sorted(order), "payments-api (30 of 43.2 min spent) first"
    assert "30.6%" in page and "100.0%" in page and "not evaluated" in page
