"""/api/v1/escalation-policies/: a policy with its steps, by slug or id; PUT
idempotent; through alerts.escalation.policies (the admin's path too)."""

from __future__ import annotations

import pytest

from alerts.escalation.policies import policy_snapshot
from alerts.intake.integrations import route_add
from alerts.models import EscalationPolicy
from tests.api_client import bearer_client

pytestmark = pytest.mark.django_db

BODY = {
    "team": "payments",
    "name": "standard",
    "team_default": True,
    "repeat": 2,
    "steps": [
        {"target": "primary", "channel": "sms"},
        {"target": "secondary", "channel": "voice", "delay_seconds": 300},
        {"target": "member", "member": "charlie", "delay_seconds": 600},
    ],
}


def test_a_policy_with_steps_is_what_incidents_copy(staff_api, people):
    response = staff_api.post("/api/v1/escalation-policies/", BODY, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "payments-standard"
    assert [s["target"] for s in body["steps"]] == ["primary", "secondary", "member"]
    assert body["steps"][2]["member"] == "charlie"
    snapshot = policy_snapshot(EscalationPolicy.objects.get())
    assert [s["delay"] for s in snapshot["steps"]] == [0, 300, 600]
    assert snapshot["rounds"] == 3
    assert snapshot["steps"][1]["channel"] == "voice"


def test_put_twice_changes_nothing_the_second_time(staff_api, people, writes):
    made = staff_api.post("/api/v1/escalation-policies/", BODY, format="json").json()
    url = f"/api/v1/escalation-policies/{made['slug']}/"
    changed = {**BODY, "steps": BODY["steps"][:2], "repeat_after_seconds": 60}
    first = staff_api.put(url, changed, format="json")
    assert first.status_code == 200, first.content
    assert len(first.json()["steps"]) == 2
    with writes() as w:
        second = staff_api.put(
            f"/api/v1/escalation-policies/{made['id']}/", changed, format="json"
        )
    assert second.json() == first.json()
    assert w.statements == []


def test_patch_keeps_the_steps(staff_api, people):
    made = staff_api.post("/api/v1/escalation-policies/", BODY, format="json").json()
    patched = staff_api.patch(
        f"/api/v1/escalation-policies/{made['id']}/", {"repeat": 0}, format="json"
    ).json()
    assert patched == {**made, "repeat": 0}


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        ({"target": "member"}, "name the member"),
        ({"target": "member", "member": "zoe"}, "not a member of payments"),
        ({"target": "primary", "member": "alice"}, "only a step whose target"),
    ],
)
def test_steps_that_make_no_sense_are_refused(
    staff_api, people, make_member, step, problem
):
    make_member("zoe")
    response = staff_api.post(
        "/api/v1/escalation-policies/", {**BODY, "steps": [step]}, format="json"
    )
    assert response.status_code == 400, response.content
    assert problem in str(response.json()["detail"]["steps"])
    assert not EscalationPolicy.objects.exists()


def test_one_default_per_team(staff_api, people):
    staff_api.post("/api/v1/escalation-policies/", BODY, format="json")
    response = staff_api.post(
        "/api/v1/escalation-policies/", {**BODY, "name": "other"}, format="json"
    )
    assert response.status_code == 400
    assert "default" in str(response.json()["detail"]["team_default"])


def test_business_hours_must_end_after_they_start(staff_api, people):
    response = staff_api.post(
        "/api/v1/escalation-policies/",
        {**BODY, "business_start": "18:00", "business_end": "09:00"},
        format="json",
    )
    assert response.status_code == 400
    assert "end after they start" in str(response.json()["detail"])


def test_deleting_a_policy_leaves_its_routes_to_the_team_default(
    staff_api, people, integration
):
    made = staff_api.post("/api/v1/escalation-policies/", BODY, format="json").json()
    route = route_add(integration=integration, team=integration.team, matchers=["a=b"])
    staff_api.patch(
        f"/api/v1/routes/{route.slug}/",
        {"escalation_policy": made["slug"]},
        format="json",
    )
    route.refresh_from_db()
    assert route.escalation_policy_id == made["id"]
    url = f"/api/v1/escalation-policies/{made['slug']}/"
    assert staff_api.delete(url).status_code == 204
    route.refresh_from_db()
    assert route.escalation_policy_id is None


def test_a_member_reads_and_may_not_change(people):
    alice = bearer_client(people[0].user)
    response = alice.post("/api/v1/escalation-policies/", BODY, format="json")
    assert response.status_code == 403
    assert alice.get("/api/v1/escalation-policies/?team=payments").json() == []
