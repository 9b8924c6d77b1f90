"""The admin: policies with their steps, pages, numbers, incident actions."""

from __future__ import annotations

from datetime import timedelta

from alerts.models import ContactMethod, Escalation, EscalationPolicy
from tests.alerts.conftest import drive, open_incident, sent
from tests.cast import PHONES


def test_an_operator_creates_a_policy_with_steps(admin_client, team, bob):
    response = admin_client.post(
        "/admin/alerts/escalationpolicy/add/",
        {
            "team": team.pk,
            "name": "nights",
            "description": "",
            "repeat": "1",
            "repeat_after": "00:05:00",
            "business_start": "09:00",
            "business_end": "18:00",
            "business_weekdays": "12345",
            "steps-TOTAL_FORMS": "2",
            "steps-INITIAL_FORMS": "0",
            "steps-0-position": "0",
            "steps-0-delay": "0",
            "steps-0-target": "primary",
            "steps-0-channel": "sms_then_voice",
            "steps-0-voice_after": "00:02:00",
            "steps-1-position": "1",
            "steps-1-delay": "00:10:00",
            "steps-1-target": "member",
            "steps-1-member": bob.pk,
            "steps-1-channel": "voice",
            "steps-1-voice_after": "00:02:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    policy = EscalationPolicy.objects.get(name="nights")
    steps = list(policy.steps.order_by("position"))
    assert [(s.target, s.channel) for s in steps] == [
        ("primary", "sms_then_voice"),
        ("member", "voice"),
    ]
    assert steps[1].delay == timedelta(minutes=10)
    listing = admin_client.get("/admin/alerts/escalationpolicy/").content.decode()
    assert "after 10 min: Bob by a call" in listing


def test_a_member_step_without_a_member_is_refused(admin_client, team):
    response = admin_client.post(
        "/admin/alerts/escalationpolicy/add/",
        {
            "team": team.pk,
            "name": "broken",
            "repeat": "0",
            "repeat_after": "00:05:00",
            "steps-TOTAL_FORMS": "1",
            "steps-INITIAL_FORMS": "0",
            "steps-0-position": "0",
            "steps-0-delay": "0",
            "steps-0-target": "member",
            "steps-0-channel": "sms",
            "steps-0-voice_after": "00:02:00",
        },
    )
    assert response.status_code == 200
    assert "Choose the member this step pages." in response.content.decode()
    assert not EscalationPolicy.objects.filter(name="broken").exists()


def test_the_incident_page_shows_pages_and_escalation(
    admin_client, integration, policy, alice, phones
):
    incident = open_incident(integration)
    drive()
    phones.expect_sms(to="alice", containing=f"#{incident.pk} [CRIT]")
    page = admin_client.get(f"/admin/alerts/incident/{incident.pk}/change/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "standard: active, step 2 in" in body
    assert PHONES["alice"] in body
    pages = admin_client.get("/admin/alerts/page/").content.decode()
    assert f"#{incident.pk}" in pages


def test_the_escalate_action_fires_the_next_step(
    admin_client, integration, policy, alice, bob
):
    incident = open_incident(integration)
    drive()
    response = admin_client.post(
        "/admin/alerts/incident/",
        {"action": "escalate_now", "_selected_action": [incident.pk]},
    )
    assert response.status_code == 302
    drive()
    assert [s.to for s in sent()] == [PHONES["alice"], PHONES["bob"]]
    assert incident.timeline.filter(text__startswith="escalated by").exists()


def test_acknowledging_from_the_admin_stops_the_chain(
    admin_client, integration, policy, alice
):
    incident = open_incident(integration)
    admin_client.post(
        "/admin/alerts/incident/",
        {"action": "acknowledge", "_selected_action": [incident.pk]},
    )
    assert Escalation.objects.get(pk=incident.pk).state == "stopped"


def test_a_broken_number_can_be_marked_working_again(admin_client, alice):
    from django.utils import timezone

    method = ContactMethod.objects.create(
        member=alice, phone=PHONES["alice"], broken_at=timezone.now(), broken_reason="x"
    )
    listing = admin_client.get("/admin/alerts/contactmethod/").content.decode()
    assert "broken since" in listing
    admin_client.post(
        "/admin/alerts/contactmethod/",
        {"action": "mark_working", "_selected_action": [method.pk]},
    )
    method.refresh_from_db()
    assert method.broken_at is None


def test_the_admin_refuses_a_member_step_for_someone_outside_the_team(
    admin_client, team, make_member
):
    outsider = make_member("zoe")
    response = admin_client.post(
        "/admin/alerts/escalationpolicy/add/",
        {
            "team": team.pk,
            "name": "nights",
            "repeat": "0",
            "repeat_after": "00:05:00",
            "business_start": "09:00",
            "business_end": "18:00",
            "business_weekdays": "12345",
            "steps-TOTAL_FORMS": "1",
            "steps-INITIAL_FORMS": "0",
            "steps-0-position": "0",
            "steps-0-delay": "0",
            "steps-0-target": "member",
            "steps-0-member": outsider.pk,
            "steps-0-channel": "sms",
            "steps-0-voice_after": "00:02:00",
        },
    )
    # The service's rule (the API's too), as the form's error: not a 500.
    assert response.status_code == 200
    assert "zoe is not a member of payments" in response.content.decode()
    assert not EscalationPolicy.objects.filter(name="nights").exists()
