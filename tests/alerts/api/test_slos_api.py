"""The SLO API: the deploy gate (and its ``deploy-gate`` token scope), recording
deploys, break glass, the SLO list with ``budget_remaining``."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from alerts.models import Deploy
from alerts.slos.evaluate import slo_evaluate
from tests.alerts.slos.conftest import service_incident
from tests.api_client import bearer_client

pytestmark = pytest.mark.django_db

GATE = "/api/v1/services/payments-api/deploy-gate"
DEPLOYS = "/api/v1/services/payments-api/deploys/"


@pytest.fixture
def limited(slo, integration, published):
    """25 of 43.2 minutes spent yesterday: 42 % left, one deploy a day."""
    now = timezone.now()
    day_ago = now - dt.timedelta(days=1)
    service_incident(integration, day_ago, day_ago + dt.timedelta(minutes=25))
    slo_evaluate(slo=slo, now=now)


def test_the_gate_answers_from_the_stored_evaluation(slo, alice, rotation):
    slo_evaluate(slo=slo)
    body = bearer_client(alice.user).get(GATE).json()
    assert body["decision"] == "allow"
    assert body["deploy_allowed"] is True
    assert body["budget_remaining"] == 1.0
    assert (body["burn_1h"], body["burn_6h"], body["open_incidents"]) == (0, 0, 0)
    assert body["oncall"]["primary"] == "alice"
    assert isinstance(body["oncall"]["in_sleep_hours"], bool)
    assert body["slo"] == "availability"
    assert body["next_allowed_at"] is None
    assert body["stale"] is False


def test_a_second_deploy_in_a_limited_day_is_refused(limited, alice):
    client = bearer_client(alice.user)
    assert client.get(GATE).json()["decision"] == "limited"
    first = client.post(DEPLOYS, {"ref": "v1"}, format="json")
    assert first.status_code == 201, first.content
    assert (first.json()["decision"], first.json()["by"]) == ("limited", "alice")

    second = client.post(DEPLOYS, {"ref": "v2"}, format="json")
    assert second.status_code == 409
    body = second.json()
    assert body["error"].startswith("deploy refused:")
    assert (body["decision"], body["deploy_allowed"]) == ("limited", False)
    assert body["next_allowed_at"] is not None
    assert Deploy.objects.count() == 1


def test_enforce_makes_a_refusal_a_409_for_curl_fail(limited, alice):
    client = bearer_client(alice.user)
    assert client.get(f"{GATE}?enforce=true").status_code == 200
    client.post(DEPLOYS, {}, format="json")
    assert client.get(GATE).status_code == 200  # without enforce: just the answer
    refused = client.get(f"{GATE}?enforce=true")
    assert refused.status_code == 409
    assert refused.json()["deploy_allowed"] is False


def test_a_deploy_gate_token_reads_the_gate_and_nothing_else(slo, alice):
    slo_evaluate(slo=slo)
    ci = bearer_client(alice.user, scopes=("deploy-gate",))
    assert ci.get(GATE).status_code == 200
    assert ci.get("/api/v1/slos/").status_code == 403
    assert ci.get("/api/v1/incidents/").status_code == 403
    assert ci.post(DEPLOYS, {}, format="json").status_code == 403
    assert not Deploy.objects.exists()


def test_a_deploy_gate_token_can_be_made_alone_not_mixed(alice):
    client = bearer_client(alice.user)
    made = client.post(
        "/api/v1/tokens/", {"name": "ci", "scopes": ["deploy-gate"]}, format="json"
    )
    assert made.status_code == 201, made.content
    assert made.json()["scopes"] == ["deploy-gate"]
    mixed = client.post(
        "/api/v1/tokens/",
        {"name": "ci", "scopes": ["deploy-gate", "write"]},
        format="json",
    )
    assert mixed.status_code == 400


def test_break_glass_is_staffs_and_needs_a_reason(slo, alice, integration, published):
    service_incident(integration, timezone.now() - dt.timedelta(minutes=2))
    slo_evaluate(slo=slo)
    member = bearer_client(alice.user)
    assert member.post(DEPLOYS, {}, format="json").status_code == 409
    refused = member.post(
        DEPLOYS, {"break_glass": True, "reason": "hotfix"}, format="json"
    )
    assert refused.status_code == 403

    staff = bearer_client(get_user_model().objects.create_user("ops", is_staff=True))
    no_reason = staff.post(DEPLOYS, {"break_glass": True}, format="json")
    assert no_reason.status_code == 400
    assert "reason" in str(no_reason.json())
    done = staff.post(
        DEPLOYS, {"break_glass": True, "reason": "the hotfix"}, format="json"
    )
    assert done.status_code == 201, done.content
    assert (done.json()["break_glass"], done.json()["decision"]) == (True, "freeze")


def test_the_slo_list_shows_the_budget_left_to_the_team_only(
    limited, alice, make_member
):
    body = bearer_client(alice.user).get("/api/v1/slos/").json()
    [row] = body["results"]
    assert (row["service"], row["team"], row["name"]) == (
        "payments-api",
        "payments",
        "availability",
    )
    assert (row["objective"], row["window"], row["source"]) == (
        "99.90000",
        "rolling_30d",
        "incident_time",
    )
    assert row["budget_remaining"] == pytest.approx(1 - 25 / 43.2)
    assert row["decision"] == "limited"
    outsider = bearer_client(make_member("zoe").user)
    assert outsider.get("/api/v1/slos/").json()["results"] == []
    assert outsider.get(GATE).status_code == 404


def test_an_unknown_service_is_a_404_and_bad_enforce_a_400(slo, alice):
    client = bearer_client(alice.user)
    assert client.get("/api/v1/services/nope/deploy-gate").status_code == 404
    assert client.get(f"{GATE}?enforce=maybe").status_code == 400
    assert client.post(DEPLOYS, {"ref": "x" * 201}, format="json").status_code == 400
