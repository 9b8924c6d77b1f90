"""POST /api/v1/incidents/<id>/ack/ (resolve/, escalate/): who acted, and the note.

A user without a member profile (an operator, a script's token) is named in the
timeline by their user name, not "someone"; the documented ``note`` is recorded.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from alerts.models import TimelineEntry
from tests.alerts.conftest import only_incident
from tests.api_client import bearer_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def grace_api() -> APIClient:
    """Grace is a user with no member profile (she is not on call anywhere)."""
    user = get_user_model().objects.create_user(
        "grace", first_name="Grace", last_name="Hopper", is_staff=True
    )
    return bearer_client(user)


def texts(incident) -> list[str]:
    return list(incident.timeline.order_by("at", "id").values_list("text", flat=True))


def test_an_ack_by_a_user_without_a_member_profile_names_the_user(grace_api, webhook):
    webhook.send("a_single_firing")
    incident = only_incident()
    response = grace_api.post(f"/api/v1/incidents/{incident.pk}/ack/")
    assert response.status_code == 200, response.content
    assert "acknowledged by Grace Hopper via API" in texts(incident)
    assert not any("someone" in text for text in texts(incident))


def test_the_note_of_an_ack_is_in_the_timeline(grace_api, webhook):
    webhook.send("a_single_firing")
    incident = only_incident()
    grace_api.post(
        f"/api/v1/incidents/{incident.pk}/ack/",
        {"note": "rolling back deploy 4711"},
        format="json",
    )
    note = incident.timeline.get(kind=TimelineEntry.Kind.NOTE)
    assert note.text == "Grace Hopper: rolling back deploy 4711"
    ack = incident.timeline.get(kind=TimelineEntry.Kind.ACKNOWLEDGED)
    assert (ack.at, ack.id) < (note.at, note.id)


def test_the_note_of_a_resolve_is_in_the_timeline(grace_api, webhook):
    webhook.send("a_single_firing")
    incident = only_incident()
    grace_api.post(
        f"/api/v1/incidents/{incident.pk}/resolve/",
        {"note": "fixed by the rollback"},
        format="json",
    )
    assert texts(incident)[-2:] == [
        "resolved by Grace Hopper via API",
        "Grace Hopper: fixed by the rollback",
    ]


def test_an_overlong_note_is_refused(grace_api, webhook):
    webhook.send("a_single_firing")
    incident = only_incident()
    response = grace_api.post(
        f"/api/v1/incidents/{incident.pk}/ack/", {"note": "x" * 1001}, format="json"
    )
    assert response.status_code == 400
    assert incident.timeline.filter(kind=TimelineEntry.Kind.ACKNOWLEDGED).count() == 0
