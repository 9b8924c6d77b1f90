"""The admin of routes: testing labels, refusing bad regexes, the catch-all."""

from __future__ import annotations

import pytest

from alerts.intake.integrations import route_add
from alerts.models import Route
from tests.cast import policy_create

pytestmark = pytest.mark.django_db


def test_the_test_labels_form_shows_which_route_matches(
    admin_client, integration, other_team
):
    route_add(
        integration=integration,
        team=other_team,
        matchers=['severity=~"critical|page"'],
        name="wake someone",
    )
    url = f"/admin/alerts/integration/{integration.pk}/test-labels/"
    page = admin_client.post(url, {"labels": "severity=page\nservice=api"}).content
    assert "matched route 1 &quot;wake someone&quot;" in page.decode()
    assert "Checkout" in page.decode()
    page = admin_client.post(url, {"labels": '{"severity": "info"}'}).content.decode()
    assert "matched route 2 &quot;catch-all&quot;" in page
    page = admin_client.post(url, {"labels": "no equals sign"}).content.decode()
    assert "line 1: write name=value" in page


def _route_form(route: Route, matchers: list[tuple[str, str, str]]) -> dict:
    data = {
        "integration": route.integration_id,
        "position": route.position,
        "name": route.name,
        "team": route.team_id,
        "urgency": route.urgency,
        "matchers-TOTAL_FORMS": str(len(matchers)),
        "matchers-INITIAL_FORMS": "0",
    }
    for i, (label, op, value) in enumerate(matchers):
        data.update(
            {
                f"matchers-{i}-label": label,
                f"matchers-{i}-op": op,
                f"matchers-{i}-value": value,
            }
        )
    return data


def test_an_invalid_regex_is_refused_when_the_route_is_saved(
    admin_client, integration, other_team
):
    route = route_add(integration=integration, team=other_team, matchers=['env="prod"'])
    response = admin_client.post(
        f"/admin/alerts/route/{route.pk}/change/",
        _route_form(route, [("severity", "=~", "(critical")]),
    )
    assert response.status_code == 200  # the form again, with the error
    assert "invalid regular expression" in response.content.decode()
    assert route.matchers.count() == 1


def test_the_only_catch_all_cannot_get_matchers_or_be_deleted(
    admin_client, integration
):
    catch_all = integration.routes.get()
    response = admin_client.post(
        f"/admin/alerts/route/{catch_all.pk}/change/",
        _route_form(catch_all, [("env", "=", "prod")]),
    )
    assert "only catch-all route" in response.content.decode()
    assert not catch_all.matchers.exists()
    response = admin_client.post(
        f"/admin/alerts/route/{catch_all.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 403
    assert Route.objects.filter(pk=catch_all.pk).exists()


def test_a_route_added_in_the_admin_goes_through_the_service(
    admin_client, integration, other_team
):
    data = _route_form(
        Route(integration=integration, team=integration.team, position=5),
        [("severity", "=~", "critical|page")],
    )
    response = admin_client.post("/admin/alerts/route/add/", {**data, "slug": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    route = Route.objects.get(position=5)
    assert route.slug == "payments-prod-5"  # the service's default
    assert [str(m) for m in route.matchers.all()] == ['severity=~"critical|page"']


def test_the_admin_refuses_a_policy_of_another_team(
    admin_client, integration, other_team
):
    theirs = policy_create(other_team, {"target": "primary"}, name="theirs")
    route = route_add(integration=integration, team=integration.team, matchers=["a=b"])
    data = _route_form(route, [("a", "=", "b")])
    response = admin_client.post(
        f"/admin/alerts/route/{route.pk}/change/",
        {**data, "slug": route.slug, "escalation_policy": theirs.pk},
    )
    assert response.status_code == 200  # the form again, with the error
    assert "belongs to another team" in response.content.decode()
    route.refresh_from_db()
    assert route.escalation_policy_id is None


def test_delete_selected_keeps_the_last_catch_all(admin_client, integration):
    catch_all = integration.routes.get()
    route = route_add(integration=integration, team=integration.team, matchers=["a=b"])

    def delete_selected(*routes):
        return admin_client.post(
            "/admin/alerts/route/",
            {
                "action": "delete_selected",
                "_selected_action": [r.pk for r in routes],
                "post": "yes",
            },
        )

    assert delete_selected(catch_all, route).status_code == 403
    assert Route.objects.count() == 2
    assert delete_selected(route).status_code == 302
    assert list(Route.objects.values_list("pk", flat=True)) == [catch_all.pk]
