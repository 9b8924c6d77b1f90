"""``POST /api/v1/incidents/<id>/postmortem/``, ``GET /api/v1/postmortems/<id>/``,
action items and the overdue list (DESIGN.md §5)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from alerts.incidents.state import incident_resolve
from alerts.models import ActionItem
from alerts.postmortems.items import action_item_done
from tests.alerts.conftest import open_incident
from tests.api_client import bearer_client
from tests.cast import utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def resolved(integration, alice):
    incident = open_incident(integration, at=utc(2026, 3, 1, 21, 50))
    return incident_resolve(incident=incident, by=alice, at=utc(2026, 3, 1, 23, 10))


def test_creating_twice_returns_the_same_draft(resolved, alice):
    client = bearer_client(alice.user)
    first = client.post(f"/api/v1/incidents/{resolved.pk}/postmortem/")
    assert first.status_code == 201
    again = client.post(f"/api/v1/incidents/{resolved.pk}/postmortem/")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    body = client.get(f"/api/v1/postmortems/{first.json()['id']}/").json()
    assert body["markdown"].startswith("# Postmortem: HighErrorRate")
    assert body["action_items"] == []
    assert body["incidents"] == [resolved.pk]
    assert body["duration_seconds"] == 80 * 60
    assert [e["kind"] for e in body["timeline"]][-1] == "resolved"


def test_an_open_incident_is_a_409(integration, alice):
    incident = open_incident(integration)
    answer = bearer_client(alice.user).post(
        f"/api/v1/incidents/{incident.pk}/postmortem/"
    )
    assert answer.status_code == 409
    assert "resolve it first" in answer.json()["detail"]


def test_action_items_and_the_overdue_list(
    resolved, alice, bob, other_team, make_member
):
    client = bearer_client(alice.user)
    pm = client.post(f"/api/v1/incidents/{resolved.pk}/postmortem/").json()["id"]
    url = f"/api/v1/postmortems/{pm}/action-items/"
    late = client.post(
        url,
        {
            "text": "Alert on queue depth",
            "owner": "bob",
            "priority": "P0",
            "due": "2020-01-01",
        },
    )
    assert late.status_code == 201
    assert late.json()["owner"] == "bob"
    assert (
        client.post(
            url,
            {"text": "Later", "owner": "alice", "priority": "P2", "due": "2999-01-01"},
        ).status_code
        == 201
    )
    finished = client.post(
        url, {"text": "Done", "owner": "alice", "priority": "P1", "due": "2020-01-01"}
    )
    action_item_done(
        item=ActionItem.objects.get(pk=finished.json()["id"]), now=timezone.now()
    )

    overdue = client.get("/api/v1/postmortems/overdue/?team=payments")
    assert overdue.status_code == 200
    assert [i["text"] for i in overdue.json()] == ["Alert on queue depth"]
    detail = client.get(f"/api/v1/postmortems/{pm}/").json()
    assert [i["priority"] for i in detail["action_items"]] == ["P0", "P1", "P2"]
    assert (
        "| P0 | Alert on queue depth | bob | 2020-01-01 | open |" in detail["markdown"]
    )

    # An owner outside the team, a bad priority, a bad date: 400s naming the field.
    make_member("zed")
    for body, field in (
        ({"text": "x", "owner": "zed", "priority": "P1", "due": "2026-01-01"}, "owner"),
        (
            {"text": "x", "owner": "bob", "priority": "P3", "due": "2026-01-01"},
            "priority",
        ),
        ({"text": "x", "owner": "bob", "priority": "P1", "due": "soon"}, "due"),
    ):
        answer = client.post(url, body)
        assert answer.status_code == 400, body
        assert field in str(answer.json()), body


def test_sections_and_items_are_written_through_the_api(resolved, alice, bob):
    client = bearer_client(alice.user)
    pm = client.post(f"/api/v1/incidents/{resolved.pk}/postmortem/").json()["id"]
    written = client.patch(
        f"/api/v1/postmortems/{pm}/",
        {"root_cause": "the pool was too small", "status": "final"},
        format="json",
    )
    assert written.status_code == 200
    assert written.json()["status"] == "final"
    assert "## Root cause\n\nthe pool was too small" in written.json()["markdown"]
    assert (
        client.patch(f"/api/v1/postmortems/{pm}/", {"status": "x"}, format="json")
    ).status_code == 400

    item = client.post(
        f"/api/v1/postmortems/{pm}/action-items/",
        {
            "text": "Raise the pool",
            "owner": "bob",
            "priority": "P1",
            "due": "2020-01-01",
        },
    ).json()
    url = f"/api/v1/postmortems/action-items/{item['id']}/"
    assert [i["id"] for i in client.get("/api/v1/postmortems/overdue/").json()] == [
        item["id"]
    ]
    done = client.patch(url, {"status": "done"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert client.get("/api/v1/postmortems/overdue/").json() == []
    assert client.patch(url, {"owner": "zed"}, format="json").status_code == 400
    moved = client.patch(url, {"owner": "alice", "due": "2999-01-01"}, format="json")
    assert moved.json()["owner"] == "alice"
