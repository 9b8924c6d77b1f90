"""The incident page in the admin: the page an operator works from (issue 11, 8).

A status header, Acknowledge / Resolve / Escalate now buttons that post (with CSRF)
to the services, the timeline to the second in the team's zone, the pages with
their delivery status; never an editable or deletable form.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from alerts.models import Incident, Page, TimelineEntry
from tests.alerts.conftest import only_incident

pytestmark = pytest.mark.django_db


def url(incident: Incident, action: str = "") -> str:
    if action:
        return f"/admin/alerts/incident/{incident.pk}/act/{action}/"
    return f"/admin/alerts/incident/{incident.pk}/change/"


@pytest.fixture
def viewer() -> Client:
    """Victor: staff, may view incidents and nothing more."""
    user = get_user_model().objects.create_user("victor", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(
            codename="view_incident", content_type__app_label="alerts"
        )
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def incident(webhook) -> Incident:
    webhook.send("a_single_firing")  # severity=critical, team payments
    return only_incident()


def test_the_header_says_status_urgency_age_and_holder(admin_client, incident):
    page = admin_client.get(url(incident)).content.decode()
    assert re.search(r'id="incident-status"[^>]*>Triggered<', page)
    assert re.search(r'id="incident-urgency"[^>]*>High urgency<', page)
    assert 'id="incident-age">open for <strong>' in page
    assert "nobody yet" in page
    # Not Django's change form: nothing to save or delete.
    assert 'name="_save"' not in page
    assert "deletelink" not in page


def test_the_timeline_is_in_the_teams_zone_to_the_second(admin_client, incident):
    incident.team.time_zone = "Africa/Nairobi"
    incident.team.save()
    entry = incident.timeline.order_by("at", "id").first()
    page = admin_client.get(url(incident)).content.decode()
    local = entry.at.astimezone(incident.team.tz)
    assert local.strftime("%Y-%m-%d %H:%M:%S EAT") in page
    assert f'datetime="{entry.at.isoformat()}"' in page
    assert " ago</span>" in page


def test_the_acknowledge_button_acknowledges_and_the_timeline_says_who(
    admin_client, incident
):
    page = admin_client.get(url(incident)).content.decode()
    assert 'id="action-acknowledge"' in page and 'id="action-escalate"' in page
    answer = admin_client.post(url(incident, "acknowledge"))
    assert answer.status_code == 302 and answer["Location"] == url(incident)
    incident.refresh_from_db()
    assert incident.status == Incident.Status.ACKNOWLEDGED
    ack = incident.timeline.get(kind=TimelineEntry.Kind.ACKNOWLEDGED)
    assert ack.text == "acknowledged by admin via admin"
    page = admin_client.get(url(incident)).content.decode()
    assert 'id="action-acknowledge"' not in page and 'id="action-resolve"' in page
    assert re.search(r'id="incident-holder">acknowledged by admin', page)
    assert "acknowledged by admin via admin" in page


def test_resolve_and_escalate_go_through_the_services(admin_client, incident):
    admin_client.post(url(incident, "escalate"))
    assert incident.timeline.filter(kind=TimelineEntry.Kind.ESCALATED).exists()
    admin_client.post(url(incident, "resolve"))
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    # Acknowledging a resolved incident is refused with a message, not a 500.
    answer = admin_client.post(url(incident, "acknowledge"), follow=True)
    assert "already resolved" in answer.content.decode()


def test_the_buttons_need_a_csrf_token(incident):
    user = get_user_model().objects.create_superuser("olga", password="x")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(url(incident, "acknowledge")).status_code == 403
    page = client.get(url(incident)).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    answer = client.post(url(incident, "acknowledge"), {"csrfmiddlewaretoken": token})
    assert answer.status_code == 302
    incident.refresh_from_db()
    assert incident.status == Incident.Status.ACKNOWLEDGED


def test_a_view_only_user_sees_no_buttons_and_gets_403(viewer, incident):
    page = viewer.get(url(incident))
    assert page.status_code == 200
    assert "action-" not in page.content.decode()
    for action in ("acknowledge", "resolve", "escalate"):
        assert viewer.post(url(incident, action)).status_code == 403
    incident.refresh_from_db()
    assert incident.status == Incident.Status.TRIGGERED


def test_incidents_cannot_be_edited_or_deleted(admin_client, incident):
    assert admin_client.post(url(incident), {"title": "renamed"}).status_code == 405
    delete = f"/admin/alerts/incident/{incident.pk}/delete/"
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    listing = admin_client.get("/admin/alerts/incident/").content.decode()
    assert 'value="delete_selected"' not in listing
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_pages_show_their_delivery_status(admin_client, incident, alice):
    incident.team.time_zone = "Africa/Nairobi"
    incident.team.save()
    sent = datetime(2026, 1, 5, 6, 0, 1, tzinfo=UTC)
    Page.objects.create(
        incident=incident,
        step=1,
        member=alice,
        channel=Page.Channel.SMS,
        status=Page.Status.DELIVERED,
        step_due_at=sent,
        due_at=sent,
        sent_at=sent,
    )
    page = admin_client.get(url(incident)).content.decode()
    pages = page[page.index('id="incident-pages"') :]
    assert "Alice" in pages and "Delivered" in pages
    assert "2026-01-05 09:00:01 EAT" in pages  # Africa/Nairobi, to the second


def test_the_list_shows_age_team_urgency_status_and_filters(admin_client, incident):
    listing = admin_client.get("/admin/alerts/incident/").content.decode()
    for column in (
        "column-age",
        "column-team",
        "column-urgency",
        "column-status_badge",
    ):
        assert column in listing
    assert "Triggered" in listing
    filtered = admin_client.get("/admin/alerts/incident/?status__exact=resolved")
    assert (
        f"/admin/alerts/incident/{incident.pk}/change/" not in filtered.content.decode()
    )
