"""Shared cast and helpers for the alert tests.

Payloads come from ``tests/fixtures/alertmanager/raw/``: bodies recorded byte for byte
from a real Alertmanager 0.25 (see the README there).  Nothing here writes one by hand.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from alerts.intake.drain import delivery_process
from alerts.intake.integrations import integration_create
from alerts.models import Incident, Integration, WebhookDelivery
from scheduling.models import Member, Team

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "alertmanager"
TOKEN = "payments-alertmanager-token-0123456789abcdef"


def recorded(name: str) -> bytes:
    """A recorded body, byte for byte as Alertmanager sent it."""
    return (FIXTURES / "raw" / f"{name}.body").read_bytes()


def recorded_json(name: str) -> dict:
    return json.loads(recorded(name))


def recorded_headers(name: str) -> dict[str, str]:
    return json.loads((FIXTURES / f"{name}.headers.json").read_text())["headers"]


def auth_kwargs(style: str, token: str) -> tuple[str, dict[str, str]]:
    """(path, extra request headers) for one of the three ways to authenticate."""
    if style == "path":
        return f"/api/v1/alertmanager/{token}/", {}
    if style == "bearer":
        return "/api/v1/alertmanager/", {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if style == "basic":
        creds = base64.b64encode(f"alertmanager:{token}".encode()).decode()
        return "/api/v1/alertmanager/", {"HTTP_AUTHORIZATION": f"Basic {creds}"}
    raise ValueError(style)


@pytest.fixture
def team(db) -> Team:
    return Team.objects.create(slug="payments", name="Payments", time_zone="UTC")


@pytest.fixture
def other_team(db) -> Team:
    return Team.objects.create(slug="checkout", name="Checkout", time_zone="UTC")


def make_member(username: str, phone: str) -> Member:
    user = get_user_model().objects.create_user(
        username=username, first_name=username.title()
    )
    return Member.objects.create(user=user, phone=phone)


@pytest.fixture
def alice(db) -> Member:
    return make_member("alice", "+254700000001")


@pytest.fixture
def integration(team) -> Integration:
    return integration_create(team=team, name="prod", token=TOKEN).integration


class Webhook:
    """Posts recorded payloads like Alertmanager does, then processes the inbox."""

    def __init__(self, client, token: str = TOKEN) -> None:
        self.client = client
        self.token = token

    def post(self, name: str, *, style: str = "bearer", token: str | None = None):
        path, headers = auth_kwargs(style, token or self.token)
        return self.client.post(
            path,
            data=recorded(name),
            content_type="application/json",
            HTTP_USER_AGENT="Alertmanager/0.25.0",
            **headers,
        )

    def send(self, *names: str, style: str = "bearer") -> list[str]:
        """Post each payload (asserting 2xx) and process it, like a worker would."""
        results = []
        for name in names:
            response = self.post(name, style=style)
            assert response.status_code == 202, response.content
            results.append(delivery_process(delivery_id=response.json()["delivery"]))
        return results


@pytest.fixture
def webhook(client, integration) -> Webhook:
    return Webhook(client)


def process_inbox() -> list[str]:
    return [
        delivery_process(delivery_id=pk)
        for pk in WebhookDelivery.objects.filter(processed_at__isnull=True)
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)
    ]


def only_incident() -> Incident:
    incidents = list(Incident.objects.all())
    assert len(incidents) == 1, incidents
    return incidents[0]
