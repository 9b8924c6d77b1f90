"""Storm protection: past the per-member limit, new incidents arrive bundled."""

from __future__ import annotations

import pytest

from alerts.models import Incident, Page, PageBundle
from tests.alerts.conftest import drive, open_incident, sent, sms_from
from tests.cast import PHONES


@pytest.fixture
def storm(settings, integration, policy, alice):
    settings.STORM_MAX_PAGES = 2
    settings.STORM_WINDOW_SECONDS = 600
    settings.STORM_BUNDLE_SECONDS = 120
    incidents = [open_incident(integration, alertname=f"Alert{n}") for n in range(5)]
    drive()
    return incidents


def test_past_the_limit_new_incidents_are_bundled_not_dropped(storm, alice):
    to_alice = sent(to=PHONES["alice"])
    assert len(to_alice) == 3  # two pages, then one bundle
    bundle_text = to_alice[2].body
    held = [i.pk for i in storm[2:]]
    assert bundle_text.startswith("oncall: 3 new incidents: ")
    for number in held:
        assert f"#{number} Alert" in bundle_text
    assert bundle_text.endswith(" - reply ACK ALL")
    assert len(bundle_text) <= 160
    assert Page.objects.filter(status="bundled").count() == 3
    bundle = PageBundle.objects.get()
    assert bundle.status == "sent"
    for incident in storm[2:]:
        assert incident.timeline.filter(text__contains="goes out in a bundle").exists()


def test_one_bundle_per_interval(storm, integration):
    open_incident(integration, alertname="Late")
    drive()
    assert len(sent(to=PHONES["alice"])) == 3  # held for the next bundle
    assert Page.objects.filter(status="held").count() == 1


def test_ack_all_acknowledges_every_incident_of_the_bundle(
    client, storm, fake_twilio, alice
):
    # Not through Twilio here: console transport sent it; the reply is what counts.
    assert len(sent(to=PHONES["alice"])) == 3  # two pages, then the bundle
    response = sms_from(client, fake_twilio, PHONES["alice"], "ACK ALL")
    assert response.status_code == 200
    assert "Acknowledged 3" in response.content.decode()
    statuses = {i.pk: i.status for i in Incident.objects.all()}
    assert [statuses[i.pk] for i in storm] == [
        "triggered",
        "triggered",
        "acknowledged",
        "acknowledged",
        "acknowledged",
    ]


def test_a_storm_limit_of_zero_means_no_limit(settings, integration, policy, alice):
    settings.STORM_MAX_PAGES = 0
    for n in range(7):
        open_incident(integration, alertname=f"Alert{n}")
    drive()
    assert len(sent(to=PHONES["alice"])) == 7
