"""/api/v1/routes/: an integration's routes with their matchers, by slug or id;
PUT idempotent; the last catch-all stays; through alerts.intake.routes."""

from __future__ import annotations

import pytest

from alerts.intake.integrations import route_add
from alerts.models import Route
from alerts.routing import choose_route
from alerts.selectors import route_rules
from tests.api_client import bearer_client
from tests.cast import policy_create

pytestmark = pytest.mark.django_db

BODY = {
    "integration": "payments-prod",
    "name": "critical",
    "team": "payments",
    "urgency": "high",
    "matchers": ['severity=~"critical|page"', 'service!="batch"'],
}


def test_a_route_is_created_before_the_catch_all_and_routes_alerts(
    staff_api, integration
):
    response = staff_api.post("/api/v1/routes/", BODY, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "payments-prod-critical"
    assert body["matchers"] == ['severity=~"critical|page"', 'service!="batch"']
    rules = route_rules(integration_id=integration.pk)
    assert [r.name for r in rules] == ["critical", "catch-all"]
    chosen = choose_route(
        rules, {"severity": "page", "service": "api"}, default_team_id=0
    )
    assert chosen.route_id == body["id"] and chosen.urgency == "high"


def test_it_is_addressed_by_slug_and_by_id(staff_api, integration):
    made = staff_api.post("/api/v1/routes/", BODY, format="json").json()
    by_slug = staff_api.get(f"/api/v1/routes/{made['slug']}/").json()
    by_id = staff_api.get(f"/api/v1/routes/{made['id']}/").json()
    assert by_slug == by_id == made


def test_put_twice_changes_nothing_the_second_time(staff_api, integration, writes):
    made = staff_api.post("/api/v1/routes/", BODY, format="json").json()
    url = f"/api/v1/routes/{made['slug']}/"
    changed = {**BODY, "urgency": "low", "matchers": ['team="payments"']}
    first = staff_api.put(url, changed, format="json")
    assert first.status_code == 200, first.content
    assert first.json()["matchers"] == ['team="payments"']
    with writes() as w:
        second = staff_api.put(url, changed, format="json")
    assert second.json() == first.json()
    assert w.statements == []


def test_put_without_position_or_slug_keeps_them(staff_api, integration):
    made = staff_api.post(
        "/api/v1/routes/", {**BODY, "position": 7, "slug": "crit"}, format="json"
    ).json()
    again = staff_api.put("/api/v1/routes/crit/", BODY, format="json").json()
    assert (
        (again["position"], again["slug"])
        == (7, "crit")
        == (
            made["position"],
            made["slug"],
        )
    )


def test_patch_changes_only_what_it_names(staff_api, integration):
    made = staff_api.post("/api/v1/routes/", BODY, format="json").json()
    patched = staff_api.patch(
        f"/api/v1/routes/{made['id']}/", {"name": "crit"}, format="json"
    ).json()
    assert patched == {**made, "name": "crit"}


def test_a_bad_matcher_is_a_400_naming_it(staff_api, integration):
    response = staff_api.post(
        "/api/v1/routes/", {**BODY, "matchers": ['severity=~"(crit"']}, format="json"
    )
    assert response.status_code == 400
    assert "invalid regular expression" in str(response.json()["detail"]["matchers"])
    assert not Route.objects.filter(name="critical").exists()


def test_the_last_catch_all_cannot_get_matchers_nor_be_deleted(staff_api, integration):
    catch_all = integration.routes.get()
    url = f"/api/v1/routes/{catch_all.slug}/"
    response = staff_api.patch(url, {"matchers": ['a="b"']}, format="json")
    assert response.status_code == 400
    assert "only catch-all" in str(response.json()["detail"])
    response = staff_api.delete(url)
    assert response.status_code == 409
    assert "only catch-all" in response.json()["error"]
    assert Route.objects.filter(pk=catch_all.pk, matchers__isnull=True).exists()


def test_a_matcher_route_is_deleted(staff_api, integration):
    route = route_add(integration=integration, team=integration.team, matchers=["a=b"])
    assert staff_api.delete(f"/api/v1/routes/{route.slug}/").status_code == 204
    assert not Route.objects.filter(pk=route.pk).exists()


def test_a_policy_of_another_team_is_refused(staff_api, integration, other_team):
    policy_create(other_team, {"target": "primary"}, name="theirs")
    response = staff_api.post(
        "/api/v1/routes/",
        {**BODY, "escalation_policy": "checkout-theirs"},
        format="json",
    )
    assert response.status_code == 400
    assert "escalation_policy" in response.json()["detail"]


def test_a_route_cannot_move_to_another_integration(staff_api, integration):
    made = staff_api.post("/api/v1/routes/", BODY, format="json").json()
    response = staff_api.put(
        f"/api/v1/routes/{made['id']}/",
        {**BODY, "integration": "elsewhere"},
        format="json",
    )
    assert response.status_code == 400
    assert "integration" in response.json()["detail"]


def test_filters_and_what_another_team_sees(
    integration, alice, other_team, make_member
):
    route_add(integration=integration, team=integration.team, matchers=["a=b"])
    mine = bearer_client(alice.user)
    listed = mine.get("/api/v1/routes/?integration=payments-prod").json()
    assert [r["name"] for r in listed] == ["", "catch-all"]
    zoe = make_member("zoe")
    other_team.members.add(zoe)
    theirs = bearer_client(zoe.user)
    assert theirs.get("/api/v1/routes/").json() == []
    assert theirs.get("/api/v1/routes/?team=payments").status_code == 400
    slug = integration.routes.first().slug
    assert theirs.get(f"/api/v1/routes/{slug}/").status_code == 404
