"""Helpers for the alert tests (the cast is in tests/conftest.py).

``Webhook`` posts recorded payloads like Alertmanager does; payloads come from
``tests/fixtures/alertmanager/raw/``: bodies recorded byte for byte from a real
Alertmanager 0.25 (see the README there).  Nothing here writes one by hand.

``drive`` plays beat and worker in this process: it runs the sweep's claims and
the tasks' services directly, at a chosen ``now``, until nothing more is due.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone

from alerts.escalation.claims import escalations_claim
from alerts.escalation.engine import escalations_advance
from alerts.incidents.state import IncidentSpec, incident_open
from alerts.intake.drain import delivery_process
from alerts.models import (
    Incident,
    Integration,
    Page,
    WebhookDelivery,
)
from alerts.paging.bundles import bundle_send, bundles_gather_and_claim
from alerts.paging.claims import pages_claim
from alerts.paging.send import pages_send
from tests.cast import TOKEN
from tests.phones import phones

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "alertmanager"


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


class Webhook:
    """Posts recorded payloads like Alertmanager does, then processes the inbox."""

    def __init__(self, client, token: str = TOKEN) -> None:
        self.client = client
        self.token = token

    def post(self, name: str, *, style: str = "bearer", token: str | None = None):
        return self.post_body(recorded(name), style=style, token=token)

    def post_body(
        self, body: bytes, *, style: str = "bearer", token: str | None = None
    ):
        """Post ``body`` (a recorded payload, maybe relabelled) as Alertmanager."""
        path, headers = auth_kwargs(style, token or self.token)
        return self.client.post(
            path,
            data=body,
            content_type="application/json",
            HTTP_USER_AGENT="Alertmanager/0.25.0",
            **headers,
        )

    def send(self, *names: str, style: str = "bearer") -> list[str]:
        """Post each payload (asserting 2xx) and process it, like a worker would."""
        return [self.send_body(recorded(name), style=style) for name in names]

    def send_body(
        self, body: bytes, *, style: str = "bearer", batch: bool = True
    ) -> str:
        """Post ``body`` (asserting 2xx) and process it: in a batch, as the task
        does, or alone (``batch=False``); returns what processing did."""
        response = self.post_body(body, style=style)
        assert response.status_code == 202, response.content
        return delivery_process(delivery_id=response.json()["delivery"], batch=batch)


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


_counter = {"n": 0}


def open_incident(
    integration: Integration,
    *,
    alertname: str = "HighErrorRate",
    severity: str = "critical",
    summary: str = "5xx above 5% for 10 minutes",
    at: dt.datetime | None = None,
    in_maintenance: bool = False,
) -> Incident:
    _counter["n"] += 1
    labels = {"alertname": alertname, "severity": severity}
    spec = IncidentSpec(
        group_key=f'{{}}:{{alertname="{alertname}"}}#{_counter["n"]}',
        title=f"{alertname}: {summary}",
        team_id=integration.team_id,
        route_id=integration.routes.first().pk,
        routing="test",
        urgency="high",
        group_labels={"alertname": alertname},
        common_labels=labels,
        common_annotations={"summary": summary},
    )
    with transaction.atomic():
        return incident_open(
            integration=integration, spec=spec, at=at, in_maintenance=in_maintenance
        )


def drive(now: dt.datetime | None = None, *, rounds: int = 10) -> list[str]:
    """Beat and worker, in process: claim what is due at ``now`` and run it."""
    now = now or timezone.now()
    results: list[str] = []
    for _ in range(rounds):
        did = False
        for incident_id in [pk for pk, _ in escalations_claim(now=now, limit=1000)]:
            results.append(
                escalations_advance(incident_ids=[incident_id], now=now)[incident_id]
            )
            did = True
        for page_id in [pk for pk, _ in pages_claim(now=now, limit=1000)]:
            results.append(pages_send(page_ids=[page_id], now=now)[page_id])
            did = True
        for bundle_id in bundles_gather_and_claim(now=now, limit=1000):
            results.append(bundle_send(bundle_id=bundle_id, now=now))
            did = True
        if not did:
            break
    return results


def sent(to: str | None = None, kind: str | None = None) -> list:
    """What the console transport sent (to a number, of a kind), in order; the
    test asserts on it, so the ``phones`` harness counts it as expected."""
    return phones.sent(to=to, kind=kind, via="console")


def pages(**filters) -> list[Page]:
    return list(Page.objects.filter(**filters).order_by("created_at", "pk"))


def later(minutes: float) -> dt.datetime:
    return timezone.now() + timedelta(minutes=minutes)


# --- Twilio's webhooks, as the fake Twilio would call them ---------------------


def signed_post(client, fake, url_or_path: str, params: dict, signature=None):
    """POST a form to our Twilio webhook like Twilio does (signed over the public
    URL, which is what PUBLIC_BASE_URL says we are)."""
    base = django_settings.PUBLIC_BASE_URL
    path = url_or_path[len(base) :] if url_or_path.startswith(base) else url_or_path
    sig = fake.sign(base + path, params) if signature is None else signature
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=sig)


def sms_from(client, fake, phone: str, body: str, signature=None):
    params = {
        "AccountSid": fake.account_sid,
        "From": phone,
        "To": fake.auth_token and "+15005550006",
        "Body": body,
        "MessageSid": "SM" + "1" * 32,
    }
    return signed_post(client, fake, "/twilio/sms/", params, signature)


def status(client, fake, recorded, value: str, **extra):
    params = {
        "AccountSid": fake.account_sid,
        "To": recorded.to,
        **(
            {"MessageSid": recorded.sid, "MessageStatus": value}
            if recorded.kind == "message"
            else {"CallSid": recorded.sid, "CallStatus": value}
        ),
        **extra,
    }
    return signed_post(client, fake, recorded.status_callback, params)


# --- SLOs (tests/alerts/slos/, tests/alerts/api/test_slos_api.py) -------------


@pytest.fixture
def service(team):
    """``payments-api`` of ``payments``: incidents labelled service=payments-api."""
    from alerts.slos.setup import service_create

    return service_create(
        slug="payments-api",
        name="Payments API",
        team=team,
        match_labels={"service": "payments-api"},
    )


@pytest.fixture
def slo(service):
    """99.9 % over a rolling 30 days: 43.2 minutes of budget."""
    from alerts.slos.setup import slo_create

    return slo_create(service=service, name="availability", objective="99.9")
