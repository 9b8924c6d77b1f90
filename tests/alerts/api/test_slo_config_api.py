"""Services and SLOs as configuration over the API (alerts/api/slo_config.py),
and OpenSLO export and import over HTTP sharing the management command's code.
Who may do what, cell by cell, is in tests/scheduling/test_access_matrix.py."""

from __future__ import annotations

import io

import pytest
import yaml
from django.core.management import call_command

from alerts.models import SLO, Service
from alerts.slos.setup import slo_create
from tests.api_client import bearer_client

pytestmark = pytest.mark.django_db

RATIO = {
    "source": "prometheus_ratio",
    "good_query": 'http_requests_total{job="payments",code!~"5.."}',
    "total_query": 'http_requests_total{job="payments"}',
}


def test_a_member_creates_a_service_and_its_slo_then_changes_and_deletes_them(
    team, alice
):
    api = bearer_client(alice.user)
    created = api.post(
        "/api/v1/services/",
        {
            "slug": "payments-web",
            "name": "Payments web",
            "team": "payments",
            "match_labels": {"service": "payments-web"},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    slo = api.post(
        "/api/v1/slos/",
        {"service": "payments-web", "name": "requests", "objective": "99.5", **RATIO},
        format="json",
    )
    assert slo.status_code == 201, slo.content
    body = slo.json()
    assert (body["objective"], body["window"], body["allow_above"]) == (
        "99.50000",
        "rolling_30d",
        "0.500",
    )
    changed = api.patch(
        f"/api/v1/slos/{body['id']}/", {"objective": "99.9"}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert str(SLO.objects.get(pk=body["id"]).objective) == "99.90000"
    listed = api.get("/api/v1/slos/").json()["results"]
    assert [s["name"] for s in listed] == ["requests"]
    assert listed[0]["budget_remaining"] is None  # not evaluated yet

    assert api.delete("/api/v1/services/payments-web/").status_code == 204
    assert not Service.objects.filter(slug="payments-web").exists()
    assert not SLO.objects.exists()


def test_a_read_only_token_may_not_write(service, alice):
    read_only = bearer_client(alice.user, scopes=("read",))
    response = read_only.patch(
        "/api/v1/services/payments-api/", {"name": "x"}, format="json"
    )
    assert response.status_code == 403
    assert "write" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"objective": "100"}, "objective"),  # a percentage below 100
        ({"source": "prometheus_ratio"}, "good_query"),  # no selectors
        ({"allow_above": "0.2", "freeze_below": "0.3"}, None),  # freeze > allow
        ({"service": "nope"}, "service"),
        ({"window": "weekly"}, "window"),
    ],
)
def test_a_bad_slo_is_a_400_naming_what_is_wrong(service, alice, body, field):
    api = bearer_client(alice.user)
    response = api.post(
        "/api/v1/slos/",
        {"service": "payments-api", "name": "x", "objective": "99", **body},
        format="json",
    )
    assert response.status_code == 400, response.content
    error = response.json()
    assert "error" in error
    if field:
        assert field in str(error["detail"])


def test_a_duplicate_service_slug_is_a_400(service, alice):
    response = bearer_client(alice.user).post(
        "/api/v1/services/",
        {
            "slug": "payments-api",
            "name": "again",
            "team": "payments",
            "match_labels": {"service": "payments-api"},
        },
        format="json",
    )
    assert response.status_code == 400
    assert "slug" in str(response.json()["detail"])


def test_openslo_round_trips_over_the_api_like_the_command(service, alice, team):
    slo_create(service=service, name="requests", objective="99.9", **RATIO)
    api = bearer_client(alice.user)
    exported = api.get("/api/v1/slos/openslo.yaml")
    assert exported.status_code == 200
    assert exported["Content-Type"].startswith("application/yaml")
    text = exported.content.decode()
    command = io.StringIO()
    call_command("oncall_openslo", "export", stdout=command)
    assert text == command.getvalue()  # one export, two doors
    kinds = [d["kind"] for d in yaml.safe_load_all(text)]
    assert kinds == ["Service", "SLO"]

    # Importing what was exported changes nothing; a changed target changes it.
    again = api.post(
        "/api/v1/slos/openslo/", {"team": "payments", "yaml": text}, format="json"
    )
    assert again.status_code == 200, again.content
    assert again.json() == {"changes": []}
    changed = text.replace("target: 0.999", "target: 0.995")
    assert changed != text
    applied = api.post(
        "/api/v1/slos/openslo/", {"team": "payments", "yaml": changed}, format="json"
    )
    assert applied.json()["changes"] == ["SLO payments-api: requests"]
    assert str(SLO.objects.get(name="requests").objective) == "99.50000"


@pytest.mark.parametrize(
    "text",
    [
        "not: [yaml",
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: 3\nspec: {service: payments-api}",
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: x}\nspec:\n"
        "  service: payments-api\n  indicator: {spec: {ratioMetric: {}}}\n"
        "  timeWindow: [5]\n  objectives: [{target: NaN}]",
    ],
)
def test_a_malformed_openslo_file_is_a_400(service, alice, text):
    response = bearer_client(alice.user).post(
        "/api/v1/slos/openslo/", {"team": "payments", "yaml": text}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "error" in response.json()
