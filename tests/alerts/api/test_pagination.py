"""Cursor pagination on incidents, pages and timeline; `since` refuses naive times."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from alerts.incidents.state import IncidentSpec, incident_open
from tests.api_client import bearer_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def incidents(team, integration, alice):
    team.members.add(alice)
    route = integration.routes.get()
    opened = []
    for n in range(7):
        with transaction.atomic():
            incident = incident_open(
                integration=integration,
                spec=IncidentSpec(
                    group_key=f'{{}}:{{alertname="A{n}"}}',
                    title=f"A{n}",
                    team_id=team.pk,
                    route_id=route.pk,
                    routing="test",
                    urgency="high",
                    group_labels={"alertname": f"A{n}"},
                    common_labels={"alertname": f"A{n}"},
                    common_annotations={},
                ),
            )
        opened.append(incident)
    return opened


def _walk(api, url: str) -> list[dict]:
    found: list[dict] = []
    while url:
        body = api.get(url).json()
        assert "count" not in body  # no COUNT(*) over a large table
        found += body["results"]
        url = body["next"]
    return found


def test_incident_pages_follow_the_cursor_newest_first(incidents, alice):
    api = bearer_client(alice.user)
    walked = _walk(api, "/api/v1/incidents/?team=payments&page_size=3")
    assert [i["id"] for i in walked] == [i.pk for i in reversed(incidents)]
    first = api.get("/api/v1/incidents/?page_size=3").json()
    back = api.get(api.get(first["next"]).json()["previous"]).json()
    assert back["results"] == first["results"]


def test_timeline_is_cursor_paginated_oldest_first(incidents, alice):
    api = bearer_client(alice.user)
    url = f"/api/v1/incidents/{incidents[0].pk}/timeline/?page_size=1"
    entries = _walk(api, url)
    assert entries and [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    pages = api.get(f"/api/v1/incidents/{incidents[0].pk}/pages/").json()
    assert set(pages) == {"next", "previous", "results"}


def test_since_refuses_a_naive_time_saying_so(incidents, alice):
    api = bearer_client(alice.user)
    naive = (timezone.now() - timedelta(hours=1)).replace(tzinfo=None).isoformat()
    response = api.get("/api/v1/incidents/", {"since": naive})
    assert response.status_code == 400
    assert "no UTC offset" in str(response.json()["detail"]["since"])
