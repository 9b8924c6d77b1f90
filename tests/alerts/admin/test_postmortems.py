"""Postmortems in the admin: drafted from the incidents list, rendered, edited,
linked to more incidents; overdue action items listed per team."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.incidents.state import incident_resolve
from alerts.models import ActionItem, Postmortem
from alerts.postmortems.items import action_item_add
from tests.alerts.conftest import open_incident
from tests.cast import utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def resolved(integration, alice):
    incident = open_incident(
        integration, alertname="HighErrorRate", at=utc(2026, 3, 1, 21, 50)
    )
    return incident_resolve(incident=incident, by=alice, at=utc(2026, 3, 1, 23, 10))


def _draft(admin_client, *incidents):
    return admin_client.post(
        "/admin/alerts/incident/",
        {"action": "draft_postmortem", "_selected_action": [i.pk for i in incidents]},
        follow=True,
    )


def test_the_incidents_action_drafts_a_postmortem_of_resolved_ones_only(
    admin_client, resolved, integration
):
    still_open = open_incident(integration, alertname="DiskFull")
    page = _draft(admin_client, resolved, still_open).content.decode()
    assert "Drafted" in page
    assert "resolve it first" in page
    postmortem = Postmortem.objects.get()
    assert postmortem.incident == resolved
    # Again: the same draft, not a second one.
    assert "Already drafted" in _draft(admin_client, resolved).content.decode()
    assert Postmortem.objects.count() == 1


def test_the_postmortem_page_renders_and_saves_sections_and_incidents(
    admin_client, resolved, integration, alice
):
    _draft(admin_client, resolved)
    postmortem = Postmortem.objects.get()
    other = open_incident(
        integration, alertname="QueueBacklog", at=utc(2026, 3, 2, 0, 0)
    )
    incident_resolve(incident=other, by=alice, at=utc(2026, 3, 2, 1, 0))
    url = f"/admin/alerts/postmortem/{postmortem.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert "<h1>Postmortem: HighErrorRate" in page.content.decode()
    answer = admin_client.post(
        url,
        {
            "title": "Checkout errors",
            "status": "draft",
            "severity": "critical",
            "incidents": f"{resolved.pk},{other.pk}",
            "impact": "5% of payments failed for 80 minutes",
            "root_cause": "a <b>pool</b> too small",
            "went_well": "",
            "went_wrong": "",
            "lessons": "",
            "action_items-TOTAL_FORMS": "1",
            "action_items-INITIAL_FORMS": "0",
            "action_items-0-text": "Raise the pool size",
            "action_items-0-owner": alice.pk,
            "action_items-0-priority": "P1",
            "action_items-0-due": "2026-03-10",
            "action_items-0-status": "open",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    postmortem.refresh_from_db()
    assert postmortem.ended_at == utc(2026, 3, 2, 1, 0)
    assert {e["incident"] for e in postmortem.timeline} == {resolved.pk, other.pk}
    assert postmortem.action_items.get().text == "Raise the pool size"
    text = admin_client.get(url).content.decode()
    assert "a &lt;b&gt;pool&lt;/b&gt; too small" in text


def test_overdue_action_items_are_listed_by_team(admin_client, resolved, alice, bob):
    _draft(admin_client, resolved)
    postmortem = Postmortem.objects.get()
    action_item_add(
        postmortem=postmortem,
        text="Alert on queue depth",
        owner=bob,
        priority="P0",
        due=dt.date(2020, 1, 1),
    )
    action_item_add(
        postmortem=postmortem,
        text="Runbook",
        owner=alice,
        priority="P2",
        due=dt.date(2999, 1, 1),
    )
    page = admin_client.get(
        f"/admin/alerts/actionitem/?overdue=yes&postmortem__team__id__exact={postmortem.team_id}"
    ).content.decode()
    assert "Alert on queue depth" in page
    assert "Runbook" not in page
    assert ActionItem.objects.count() == 2
