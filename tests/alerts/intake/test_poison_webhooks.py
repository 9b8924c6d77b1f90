"""Poison webhooks: what the door accepts, processing can handle; what processing
still cannot handle pages somebody.

Every body is a variant of a recorded one (``tests/fixtures/alertmanager``), changed
in the one field the test is about, and goes through the real endpoint.
"""

from __future__ import annotations

import datetime as dt
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import tasks
from alerts.intake import drain
from alerts.intake import process as intake_process
from alerts.intake.drain import delivery_process
from alerts.intake.inbox import MAX_ATTEMPTS, deliveries_sweep
from alerts.intake.unprocessable import deliveries_page_unprocessable
from alerts.models import Escalation, Incident, WebhookDelivery
from scheduling.materialize import rotation_materialize
from scheduling.models import Rotation, RotationParticipant
from tests.alerts.conftest import TOKEN, auth_kwargs, drive, recorded, sent


def variant(change) -> dict:
    data = json.loads(recorded("a_single_firing"))
    change(data)
    return data


def post(client, body: bytes | str):
    path, headers = auth_kwargs("bearer", TOKEN)
    return client.post(path, data=body, content_type="application/json", **headers)


def _set(path: str, value):
    def change(data: dict) -> None:
        target = data
        keys = path.split(".")
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[keys[-1]] = value

    return change


REFUSED = {
    "truncated 10**30": (_set("truncatedAlerts", 10**30), "truncatedAlerts"),
    "truncated 1e30": (_set("truncatedAlerts", 1e30), "truncatedAlerts"),
    "truncated 2**31": (_set("truncatedAlerts", 2**31), "truncatedAlerts"),
    "startsAt year 9999 behind UTC": (
        _set("alerts.0.startsAt", "9999-12-31T23:59:59-01:00"),
        "alerts[0].startsAt",
    ),
    "endsAt year 9999": (
        _set("alerts.0.endsAt", "9999-12-31T23:59:59Z"),
        "alerts[0].endsAt",
    ),
    "startsAt before 1970": (
        _set("alerts.0.startsAt", "1969-12-31T23:59:59+00:00"),
        "alerts[0].startsAt",
    ),
    "startsAt 30 February": (
        _set("alerts.0.startsAt", "2026-02-30T10:00:00Z"),
        "alerts[0].startsAt",
    ),
    "lone surrogate in a label": (
        _set("alerts.0.labels.instance", "db\ud800"),
        "alerts[0].labels.instance",
    ),
    "lone surrogate in a label name": (
        _set("commonLabels.bad\udfff", "x"),
        "commonLabels.bad?",
    ),
    "lone surrogate in an unknown field": (
        _set("newField", {"deep": ["ok", "\udc00"]}),
        "newField.deep[1]",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_value_out_of_range_is_400_naming_the_field(client, integration, case):
    change, field = REFUSED[case]
    response = post(client, json.dumps(variant(change)))
    assert response.status_code == 400, response.content
    assert field in response.json()["detail"], response.json()
    assert not WebhookDelivery.objects.exists()


def test_a_body_in_utf16_is_400_not_500(client, integration):
    response = post(client, recorded("a_single_firing").decode().encode("utf-16"))
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


ACCEPTED = {
    "truncated at the column's limit": _set("truncatedAlerts", 2**31 - 1),
    "Go's zero time with an offset": _set(
        "alerts.0.startsAt", "0001-01-01T00:00:00-01:00"
    ),
    "a time just inside the range": _set(
        "alerts.0.startsAt", "2199-12-31T23:59:59.999999999+00:00"
    ),
    "a surrogate pair (an emoji) is fine": _set("alerts.0.labels.instance", "db🔥"),
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_what_is_answered_202_is_processed(client, integration, case):
    response = post(client, json.dumps(variant(ACCEPTED[case])))
    assert response.status_code == 202, response.content
    delivery_process(delivery_id=response.json()["delivery"])
    delivery = WebhookDelivery.objects.get()
    assert delivery.processed_at is not None, delivery.error
    assert Incident.objects.count() == 1


@pytest.fixture
def alice_on_call(team, alice) -> None:
    """alice is the payments team's primary, this week and next."""
    team.members.add(alice)
    today = timezone.now().astimezone(dt.UTC).date()
    rotation = Rotation.objects.create(
        team=team,
        name="weekly",
        scheme="primary_only",
        start_date=today - timedelta(days=1),
        handoff_time=dt.time(0, 0),
        handoff_weekday=today.weekday(),
        time_zone="UTC",
    )
    RotationParticipant.objects.create(rotation=rotation, member=alice, position=0)
    rotation_materialize(rotation=rotation)


def _unprocessable_incidents() -> list[Incident]:
    return list(Incident.objects.filter(source=Incident.Source.UNPROCESSABLE))


def test_a_stored_body_that_does_not_parse_pages_the_team_once(
    integration, alice_on_call
):
    # Stored by a version whose door let year 9999 through: processing cannot read
    # it, so it gives up at once rather than retry, and the sweep pages about it.
    body = json.dumps(variant(_set("alerts.0.startsAt", "9999-12-31T23:59:59-01:00")))
    delivery = WebhookDelivery.objects.create(
        integration=integration, body=body, auth="bearer"
    )
    result = delivery_process(delivery_id=delivery.pk)
    assert result.startswith("not processed: invalid payload")
    delivery.refresh_from_db()
    assert delivery.processed_at is None
    assert delivery.attempts == MAX_ATTEMPTS

    opened = deliveries_page_unprocessable()
    assert deliveries_page_unprocessable() == []  # idempotent
    [incident] = _unprocessable_incidents()
    assert opened == [incident.pk]
    assert incident.title.startswith("Webhook could not be processed")
    assert incident.team_id == integration.team_id
    assert incident.urgency == "high"
    assert "alerts[0].startsAt" in incident.timeline.get(kind="opened").text
    assert Escalation.objects.filter(pk=incident.pk).exists()
    drive()
    assert len(sent(to="+254700000001")) == 1  # alice, the primary
    delivery.refresh_from_db()
    assert delivery.failure_incident_id == incident.pk


def test_a_delivery_failing_all_its_retries_pages_the_team_once(
    client, integration, alice_on_call, monkeypatch, published
):
    """A processing bug (injected: the batch and the one-by-one paths both raise)
    is retried by the sweep up to MAX_ATTEMPTS, then pages, once."""

    def broken(*args, **kwargs):
        raise RuntimeError("a processing bug")

    monkeypatch.setattr(drain, "deliveries_process_batch", broken)
    monkeypatch.setattr(intake_process, "delivery_apply", broken)
    response = post(client, recorded("a_single_firing"))
    assert response.status_code == 202
    delivery_id = response.json()["delivery"]
    opened: list[int] = []
    now = timezone.now()
    for _ in range(3 * MAX_ATTEMPTS):  # the sweep and the worker, until idle
        now += timedelta(seconds=1)
        opened += deliveries_page_unprocessable(now=now)
        published.clear()
        deliveries_sweep(now=now, grace=timedelta(0))
        if not published and opened:
            break
        for task in published:
            with pytest.raises(RuntimeError):
                tasks.process_delivery(*task.args)
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.processed_at is None
    assert delivery.attempts >= MAX_ATTEMPTS
    assert "a processing bug" in delivery.error
    [incident] = _unprocessable_incidents()
    assert opened == [incident.pk]
    assert deliveries_page_unprocessable() == []
