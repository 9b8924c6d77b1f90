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


def _resolved(integration, alice, alertname, opened, closed):
    incident = open_incident(integration, alertname=alertname, at=opened)
    return incident_resolve(incident=incident, by=alice, at=closed)


def test_the_list_is_newest_first_filtered_and_scoped(
    resolved, integration, alice, other_team, make_member
):
    client = bearer_client(alice.user)
    older = client.post(f"/api/v1/incidents/{resolved.pk}/postmortem/").json()["id"]
    later = _resolved(
        integration, alice, "DiskFull", utc(2026, 3, 5, 10), utc(2026, 3, 5, 11)
    )
    newer = client.post(f"/api/v1/incidents/{later.pk}/postmortem/").json()["id"]
    client.patch(f"/api/v1/postmortems/{older}/", {"status": "final"}, format="json")
    client.post(
        f"/api/v1/postmortems/{newer}/action-items/",
        {
            "text": "Grow the disk",
            "owner": "alice",
            "priority": "P0",
            "due": "2020-01-01",
        },
    )

    listed = client.get("/api/v1/postmortems/?team=payments")
    assert listed.status_code == 200
    rows = listed.json()["results"]
    assert [r["id"] for r in rows] == [newer, older]
    assert rows[0]["incidents"] == [later.pk]
    assert (rows[0]["open_action_items"], rows[0]["overdue_action_items"]) == (1, 1)
    assert rows[1]["duration_seconds"] == 80 * 60
    assert "markdown" not in rows[0]

    def ids(query):
        answer = client.get(f"/api/v1/postmortems/?{query}")
        assert answer.status_code == 200, answer.json()
        return [r["id"] for r in answer.json()["results"]]

    assert ids("status=final") == [older]
    assert ids("status=draft") == [newer]
    assert ids("overdue=true") == [newer]
    assert ids("overdue=false") == [older]
    assert ids("page_size=1") == [newer]

    # Another team's member sees none of them, and may not filter by payments.
    zoe = make_member("zoe")
    other_team.members.add(zoe)
    outsider = bearer_client(zoe.user)
    assert outsider.get("/api/v1/postmortems/").json()["results"] == []
    refused = outsider.get("/api/v1/postmortems/?team=payments")
    assert refused.status_code == 400
    assert "team" in refused.json()["detail"]
    for bad in ("status=closed", "overdue=perhaps", "cursor=nonsense"):
        assert client.get(f"/api/v1/postmortems/?{bad}").status_code == 400, bad


def test_incidents_are_linked_and_unlinked_through_the_api(
    resolved, integration, alice, other_team
):
    client = bearer_client(alice.user)
    pm = client.post(f"/api/v1/incidents/{resolved.pk}/postmortem/").json()["id"]
    other = _resolved(
        integration, alice, "DiskFull", utc(2026, 3, 1, 22, 30), utc(2026, 3, 2, 1)
    )
    url = f"/api/v1/postmortems/{pm}/incidents/"

    linked = client.post(url, {"incident": other.pk}, format="json")
    assert linked.status_code == 201
    body = linked.json()
    assert body["incidents"] == sorted([resolved.pk, other.pk])
    assert {e["incident"] for e in body["timeline"]} == {resolved.pk, other.pk}
    assert body["ended_at"] == "2026-03-02T01:00:00Z"
    # Linking again changes nothing.
    again = client.post(url, {"incident": other.pk}, format="json")
    assert again.status_code == 200
    assert again.json()["incidents"] == body["incidents"]

    # Still open: 409; no such incident, or another team's: 400 naming it.
    still_open = open_incident(integration, alertname="Open")
    refused = client.post(url, {"incident": still_open.pk}, format="json")
    assert refused.status_code == 409
    assert "resolve it first" in refused.json()["detail"]
    from tests import cast

    theirs = open_incident(
        cast.integration_create(other_team, token="checkout-token-0123456789abcdef")
    )
    for bad in ({"incident": theirs.pk}, {"incident": 2**62}, {"incident": "x"}, {}):
        answer = client.post(url, bad, format="json")
        assert answer.status_code == 400, bad
        assert "incident" in str(answer.json()), bad

    # Unlinking: the span shrinks back; the drafting incident stays (409).
    gone = client.delete(f"{url}{other.pk}/")
    assert gone.status_code == 204
    after = client.get(f"/api/v1/postmortems/{pm}/").json()
    assert after["incidents"] == [resolved.pk]
    assert {e["incident"] for e in after["timeline"]} == {resolved.pk}
    assert after["ended_at"] == "2026-03-01T23:10:00Z"
    assert client.delete(f"{url}{other.pk}/").status_code == 404
    kept = client.delete(f"{url}{resolved.pk}/")
    assert kept.status_code == 409
    assert "drafted from" in kept.json()["detail"]
