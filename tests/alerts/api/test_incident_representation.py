"""The incident, page and timeline lists serialise through
``PlannedRepresentation`` (scheduling/access/representation.py) and read only
the columns they show (``alerts.selectors.INCIDENT_LIST_COLUMNS``).  Both are
speed-ups; these tests hold them to DRF's own output and to a query count that
does not grow with the rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers

from alerts.api.serializers import (
    IncidentSerializer,
    PageSerializer,
    TimelineEntrySerializer,
)
from alerts.models import Incident, Page, TimelineEntry
from alerts.selectors import incident_list
from tests.alerts.conftest import drive, sent
from tests.api_client import bearer_client

pytestmark = pytest.mark.django_db


def generic(serializer: serializers.Serializer, instance: object) -> dict:
    """What DRF itself makes of the row, field by field."""
    return dict(serializers.Serializer.to_representation(serializer, instance))


@pytest.fixture
def varied(webhook, team, alice, policy):
    """Incidents in every state the list shows: open with an escalation under
    way, truncated, acknowledged by a member, resolved by a member, resolved
    by Alertmanager; with pages sent and timeline entries with and without an
    actor."""
    team.members.add(alice)
    webhook.send("a_single_firing", "g_max_alerts_2_of_3_truncated")
    webhook.send("b_group_of_three_firing", "c_group_partial_resolve")
    webhook.send("d_group_all_resolved")
    drive()
    assert sent(to=alice.phone), "the escalation paged nobody"
    api = bearer_client(alice.user)
    first, second = Incident.objects.filter(status="triggered").order_by("pk")[:2]
    assert api.post(f"/api/v1/incidents/{first.pk}/ack/").status_code == 200
    assert api.post(f"/api/v1/incidents/{second.pk}/resolve/").status_code == 200
    return api


def test_incident_rows_are_drfs_own(varied):
    rows = list(incident_list())
    states = {(i.status, i.acknowledged_by_id is not None) for i in rows}
    assert {("acknowledged", True), ("resolved", False)} <= states
    assert any(getattr(i, "escalation", None) is not None for i in rows)
    serializer = IncidentSerializer()
    for incident in rows:
        fast = serializer.to_representation(incident)
        assert fast == generic(serializer, incident)
        assert list(fast) == list(serializer.fields)


def test_the_policy_name_comes_from_the_snapshot(varied):
    escalated = [i for i in incident_list() if getattr(i, "escalation", None)]
    assert escalated
    for incident in escalated:
        name = Incident.objects.get(pk=incident.pk).escalation.snapshot.get("name")
        assert IncidentSerializer(incident).data["escalation"]["policy"] == name
        assert name


def test_page_and_timeline_rows_are_drfs_own(varied):
    pages = list(Page.objects.select_related("member__user"))
    entries = list(TimelineEntry.objects.select_related("actor"))
    assert pages
    assert {e.actor_id is None for e in entries} == {True, False}
    for serializer, rows in (
        (PageSerializer(), pages),
        (TimelineEntrySerializer(), entries),
    ):
        for row in rows:
            assert serializer.to_representation(row) == generic(serializer, row)


def test_the_list_reads_no_more_queries_for_more_rows(varied, webhook):
    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            body = varied.get("/api/v1/incidents/").json()
        return len(captured), len(body["results"])

    few, shown = queries()
    webhook.send("e_repeat_1_initial", "f_two_groups_checkout", "f_two_groups_payments")
    drive()
    sent()  # the new incidents' pages: not what this test is about
    more, shown_more = queries()
    assert shown_more > shown
    assert more == few
