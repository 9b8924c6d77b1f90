"""A burn-rate incident held back by a faster tier (``Incident.suppressed_by``,
alerts/incidents/tiers.py) says so: in the API's incident representation (and
its schema), on both incidents' admin pages, in the incidents list's flags and
in the SLO page's table of incidents that consumed budget."""

from __future__ import annotations

import pytest

from alerts.slos.setup import service_create, slo_create
from tests.alerts.intake.test_burn_tiers import SLOTH_PAGE, SLOTH_TICKET, fire
from tests.api_client import bearer_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(client, integration, policy):
    page = fire(client, SLOTH_PAGE)
    ticket = fire(client, SLOTH_TICKET)
    assert ticket.suppressed_by_id == page.pk
    return page, ticket


def test_the_api_gives_the_incident_holding_it_back(held, alice):
    page, ticket = held
    api = bearer_client(alice.user)
    assert api.get(f"/api/v1/incidents/{ticket.pk}/").json()["suppressed_by"] == (
        page.pk
    )
    assert api.get(f"/api/v1/incidents/{page.pk}/").json()["suppressed_by"] is None
    listed = {
        i["id"]: i["suppressed_by"]
        for i in api.get("/api/v1/incidents/").json()["results"]
    }
    assert listed == {page.pk: None, ticket.pk: page.pk}


def test_the_schema_documents_it(client, admin_user):
    client.force_login(admin_user)
    schema = client.get("/api/schema/?format=json").json()
    field = schema["components"]["schemas"]["Incident"]["properties"]["suppressed_by"]
    assert field["type"] == "integer" and field.get("nullable") is True
    assert "faster tier" in field["description"]


def test_both_incident_pages_and_the_list_show_it(held, admin_client):
    page, ticket = held
    held_page = admin_client.get(f"/admin/alerts/incident/{ticket.pk}/change/")
    text = held_page.content.decode()
    assert 'id="incident-suppressed-by"' in text
    assert f"/admin/alerts/incident/{page.pk}/change/" in text
    holder = admin_client.get(f"/admin/alerts/incident/{page.pk}/change/")
    text = holder.content.decode()
    assert 'id="incident-suppresses"' in text and f"#{ticket.pk}</a>" in text
    assert 'id="incident-suppressed-by"' not in text
    listing = admin_client.get("/admin/alerts/incident/").content.decode()
    assert f"suppressed by #{page.pk}" in listing


def test_the_slo_page_shows_which_budget_eater_was_held_back(held, team, admin_client):
    page, ticket = held
    service = service_create(
        slug="payments-sloth",
        name="Payments (Sloth)",
        team=team,
        match_labels={"sloth_service": "payments-api"},
    )
    slo = slo_create(
        service=service, name="requests", objective="99.9", incident_urgency="any"
    )
    text = admin_client.get(f"/admin/alerts/slo/{slo.pk}/change/").content.decode()
    assert f"#{ticket.pk} " in text and f"#{page.pk} " in text
    assert f"#{page.pk}</a> (a faster tier: not escalated)" in text
