"""The deploy gate's body is built without its serializer (alerts/api/slos.py,
``gate_body``): it must stay exactly what ``DeployGateSerializer`` renders, the
schema's description of it, in every state the gate answers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from alerts.api.slos import DeployGateSerializer, gate_body
from alerts.models import Deploy
from alerts.slos.evaluate import slo_evaluate
from alerts.slos.gate import deploy_gate
from tests.alerts.slos.conftest import service_incident

pytestmark = pytest.mark.django_db


def _same(gate) -> dict:
    body = gate_body(gate)
    assert body == DeployGateSerializer(gate).data
    return body


def test_it_matches_the_serializer_when_allowed_and_never_evaluated(
    slo, service, rotation, settings
):
    never = _same(deploy_gate(service=service))
    assert never["stale"] is True and never["evaluated_at"] is None
    slo_evaluate(slo=slo)
    allowed = _same(deploy_gate(service=service))
    assert allowed["decision"] == "allow"
    assert allowed["evaluated_at"].endswith("Z")


def test_it_matches_when_limited_and_used_up_with_next_allowed_at(
    slo, service, integration, published
):
    now = timezone.now()
    day_ago = now - dt.timedelta(days=1)
    service_incident(integration, day_ago, day_ago + dt.timedelta(minutes=25))
    slo_evaluate(slo=slo, now=now)
    Deploy.objects.create(service=service, at=now)
    body = _same(deploy_gate(service=service, now=now))
    assert (body["decision"], body["deploy_allowed"]) == ("limited", False)
    assert body["next_allowed_at"] is not None


def test_it_matches_when_frozen_by_an_incident_and_stale(
    slo, service, integration, published, settings
):
    now = timezone.now()
    slo_evaluate(slo=slo, now=now - dt.timedelta(hours=1))
    service_incident(integration, now - dt.timedelta(minutes=5))
    body = _same(deploy_gate(service=service, now=now))
    assert (body["decision"], body["stale"]) == ("freeze", True)
    assert body["warning"]


def test_it_matches_in_another_current_time_zone(slo, service, rotation, settings):
    slo_evaluate(slo=slo)
    with timezone.override("Africa/Nairobi"):
        body = _same(deploy_gate(service=service))
    assert body["evaluated_at"].endswith("+03:00")
