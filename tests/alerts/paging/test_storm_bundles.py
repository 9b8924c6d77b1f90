"""Storms never silence a call: held calls go out as one call for the bundle, and
bundle texts tell new incidents from repeats."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Incident, PageBundle
from tests.alerts.conftest import drive, open_incident, sent, signed_post, status
from tests.cast import PHONES, policy_create


@pytest.fixture
def storm_limits(settings):
    settings.STORM_MAX_PAGES = 2
    settings.STORM_WINDOW_SECONDS = 600
    settings.STORM_BUNDLE_SECONDS = 120


@pytest.fixture
def sms_then_call(team, rotation):
    return policy_create(
        team,
        {
            "target": "primary",
            "channel": "sms_then_voice",
            "voice_after": timedelta(minutes=2),
        },
        team_default=True,
    )


def test_in_a_storm_the_held_calls_ring_once_and_1_acknowledges_them_all(
    client, storm_limits, integration, sms_then_call, alice, fake_twilio
):
    now = timezone.now()
    incidents = [
        open_incident(integration, alertname=f"Alert{n}", at=now) for n in range(4)
    ]
    drive(now)
    texts = fake_twilio.messages(to=PHONES["alice"])
    assert len(texts) == 3  # two pages, then the bundle of the other two
    assert fake_twilio.calls() == []

    drive(now + timedelta(minutes=2, seconds=1))  # every call is due: all held
    [call] = fake_twilio.calls(to=PHONES["alice"])
    bundle = PageBundle.objects.get(channel="voice")
    assert call.sid == bundle.provider_id
    assert call.form["Url"].endswith(f"/twilio/voice/bundle/{bundle.pk}/")

    params = fake_twilio.call_params(call)
    answer = signed_post(client, fake_twilio, call.form["Url"], params)
    words = answer.content.decode()
    assert "4 incidents need you" in words
    assert "Press 1 to acknowledge all 4" in words
    for incident in incidents:
        assert f"Incident {incident.pk}, Alert" in words

    answer = signed_post(
        client, fake_twilio, call.form["Url"], {**params, "Digits": "1"}
    )
    assert "Acknowledged 4" in answer.content.decode()
    assert "<Hangup/>" in answer.content.decode()
    assert set(Incident.objects.values_list("status", flat=True)) == {"acknowledged"}
    assert PageBundle.objects.get(pk=bundle.pk).status == "answered"
    # Twilio's "completed" afterwards changes nothing.
    status(client, fake_twilio, call, "completed")
    assert PageBundle.objects.get(pk=bundle.pk).status == "answered"


def test_an_unanswered_bundle_call_falls_through_to_the_next_step(
    client, storm_limits, integration, team, rotation, alice, bob, fake_twilio
):
    policy_create(
        team,
        {"target": "primary", "channel": "voice"},
        {"target": "secondary", "channel": "sms", "delay": timedelta(minutes=10)},
        team_default=True,
    )
    now = timezone.now()
    for n in range(3):
        open_incident(integration, alertname=f"Alert{n}", at=now)
    drive(now)
    calls = fake_twilio.calls(to=PHONES["alice"])
    assert len(calls) == 3  # two calls, then one call for the third
    status(client, fake_twilio, calls[2], "no-answer")
    drive(now + timedelta(seconds=1))
    # Bob is paged now, not after the ten minutes: nobody took the bundle call.
    assert len(fake_twilio.messages(to=PHONES["bob"])) == 1


def test_a_bundle_text_says_which_incidents_are_new_and_which_are_repeats(
    settings, integration, team, rotation, alice
):
    settings.STORM_MAX_PAGES = 1
    settings.STORM_BUNDLE_SECONDS = 120
    policy_create(
        team,
        {"target": "primary", "channel": "sms"},
        team_default=True,
        repeat=1,
        repeat_after=timedelta(minutes=5),
    )
    now = timezone.now()
    first = open_incident(integration, alertname="First", at=now)
    second = open_incident(integration, alertname="Second", at=now)
    drive(now)
    assert [s.body for s in sent()][1].startswith(
        f"oncall: 1 new incident: #{second.pk} Second - reply"
    )
    later = now + timedelta(minutes=6)
    third = open_incident(integration, alertname="Third", at=later)
    drive(later)  # round 2 of first and second, and third's first page
    bundle = sent()[-1].body
    assert bundle == (
        f"oncall: 1 new incident: #{third.pk} Third; "
        f"2 repeats: #{first.pk} First, #{second.pk} Second - reply ACK ALL"
    )


def test_ack_all_by_sms_answers_the_latest_bundle_sms_not_a_later_bundle_call(
    client, storm_limits, integration, sms_then_call, alice, fake_twilio, phones
):
    from tests.alerts.conftest import sms_from

    now = timezone.now()
    for n in range(4):
        open_incident(integration, alertname=f"Alert{n}", at=now)
    drive(now)
    drive(now + timedelta(minutes=2, seconds=1))  # the bundle call, after the SMS
    phones.expect_sms(to="alice", containing="Alert0")
    phones.expect_sms(to="alice", containing="Alert1")
    phones.expect_sms(to="alice", containing="2 new incidents: ")
    assert len(fake_twilio.calls()) == 1
    reply = sms_from(client, fake_twilio, PHONES["alice"], "ACK ALL")
    assert "Acknowledged 2" in reply.content.decode()  # the two the SMS named
